"""The Language model page: a model on this computer (manifest, registered or a GGUF file), or
an OpenAI-compatible server with a connection test."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from her_desktop.config import Settings
from her_desktop.gui.background import run_in_background
from her_desktop.gui.settings.page import (
    ERROR_STYLE,
    Data,
    SettingsPage,
    set_combo,
    stacked,
    without_fix,
)
from her_desktop.gui.settings.probes import probe_server
from her_desktop.llm.base import EndpointError
from her_desktop.llm.endpoint import parse_base_url
from her_desktop.models.discover import FoundModel, discover
from her_desktop.models.gguf_file import gguf_problem
from her_desktop.models.manifest import specs
from her_desktop.models.registry import list_user_models
from her_desktop.models.speed import SpeedResult, cached_speed, measure_speed

CONNECTION_TEST_TIMEOUT_S = 5.0
_CUSTOM_FILE = "\0file"


def _found_offers(
    folders: list[str], gpu_layers: int | Literal["auto"]
) -> list[tuple[FoundModel, SpeedResult | None]]:
    """The chat models found on this computer with their remembered speed (worker thread)."""
    return [(m, cached_speed(m.path, gpu_layers)) for m in discover(folders) if m.chat]


def _speed_text(speed: SpeedResult) -> str:
    return speed.text


def _offer_text(model: FoundModel, speed: SpeedResult | None) -> str:
    return model.display + (f" — {_speed_text(speed)}" if speed is not None else "")


class LanguageModelPage(SettingsPage):
    title = "Language model"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        llm = settings.llm
        self.local = QRadioButton("On this computer (private, works offline)")
        self.remote = QRadioButton("On a server (OpenAI-compatible: llama-server, vLLM, Ollama)")
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.remote)
        (self.remote if llm.engine == "remote" else self.local).setChecked(True)

        # -- local model
        self.model = QComboBox()
        for spec in specs("llm"):
            role = {"default": " (default)", "light": " (light, for small computers)"}.get(
                spec.role, ""
            )
            self.model.addItem(f"{spec.name}{role}", spec.id)
        for user_model in list_user_models():
            if user_model.kind == "llm":
                self.model.addItem(
                    f"{user_model.name} (yours: {user_model.path.name})", user_model.name
                )
        self.model.addItem("A GGUF file on this computer…", _CUSTOM_FILE)
        self.file = QLineEdit()
        self.file.setPlaceholderText("/path/to/model.gguf")
        self.browse = QPushButton("Choose…")
        self.browse.clicked.connect(self.choose_file)
        if self.model.findData(llm.model) >= 0:
            set_combo(self.model, llm.model)
        elif any(c in llm.model for c in "/\\") or llm.model.lower().endswith(".gguf"):
            set_combo(self.model, _CUSTOM_FILE)
            self.file.setText(llm.model)
        else:
            set_combo(self.model, llm.model, f"{llm.model} (not found)")
        self.model.currentIndexChanged.connect(self._update_enabled)
        self.found: dict[str, FoundModel] = {}
        """Chat models other apps keep on this computer, by path (filled in the background)."""
        self.speed_button = QPushButton("Measure speed here")
        self.speed_button.setToolTip("Writes a short reply with the chosen model and times it")
        self.speed_button.clicked.connect(self.measure_speed)
        self.speed_result = QLabel()
        self.speed_result.setWordWrap(True)
        self._gpu_setting = llm.n_gpu_layers
        self._threads = llm.n_threads
        folders = list(llm.model_folders)
        run_in_background(
            lambda: _found_offers(folders, llm.n_gpu_layers), self._add_found, owner=self
        )

        self.gpu = QComboBox()
        self.gpu.addItem("Automatic", "auto")
        self.gpu.addItem("Off (CPU only)", 0)
        self.gpu.addItem("All layers", -1)
        self.gpu.addItem("A number of layers", "n")
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(1, 999)
        if isinstance(llm.n_gpu_layers, int) and llm.n_gpu_layers > 0:
            set_combo(self.gpu, "n")
            self.gpu_layers.setValue(llm.n_gpu_layers)
        else:
            set_combo(self.gpu, llm.n_gpu_layers)
            self.gpu_layers.setValue(20)
        self.gpu.currentIndexChanged.connect(self._update_enabled)

        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(self.browse)
        gpu_row = QHBoxLayout()
        gpu_row.addWidget(self.gpu, 1)
        gpu_row.addWidget(self.gpu_layers)
        self.local_box = QGroupBox("Model on this computer")
        local_form = QFormLayout(self.local_box)
        local_form.addRow("Model:", self.model)
        local_form.addRow("File:", stacked(file_row, self.error_for("llm.model")))
        speed_row = QHBoxLayout()
        speed_row.addWidget(self.speed_button)
        speed_row.addWidget(self.speed_result, 1)
        local_form.addRow("Speed:", speed_row)
        local_form.addRow("GPU offload:", stacked(gpu_row, self.error_for("llm.n_gpu_layers")))

        # -- remote server
        remote = llm.remote
        self.url = QLineEdit(remote.url)
        self.url.textChanged.connect(lambda _t: self._show_url_problem())
        self.remote_model = QLineEdit(remote.model)
        self.remote_model.setPlaceholderText("empty: the server's default model")
        self.api_key_env = QLineEdit(remote.api_key_env)
        self.api_key_env.setPlaceholderText(
            "e.g. OPENAI_API_KEY (the variable's name, not the key)"
        )
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.remote_box = QGroupBox("Server")
        remote_form = QFormLayout(self.remote_box)
        remote_form.addRow("Address:", stacked(self.url, self.error_for("llm.remote.url")))
        remote_form.addRow("Model:", stacked(self.remote_model, self.error_for("llm.remote.model")))
        remote_form.addRow(
            "API key variable:",
            stacked(self.api_key_env, self.error_for("llm.remote.api_key_env")),
        )
        remote_form.addRow(self.test_button, self.test_result)

        self.local.toggled.connect(self._update_enabled)
        layout = QVBoxLayout(self)
        layout.addWidget(self.local)
        layout.addWidget(self.local_box)
        layout.addWidget(self.remote)
        layout.addWidget(self.remote_box)
        layout.addWidget(self.error_for("llm.engine"))
        layout.addStretch(1)
        self._update_enabled()

    def _add_found(self, offers: list[tuple[FoundModel, SpeedResult | None]]) -> None:
        """Offer the chat models found on this computer, above "A GGUF file…"."""
        selected = self._model_value()
        for model, speed in offers:
            key = str(model.path)
            if key in self.found or self.model.findData(key) >= 0:
                continue
            self.found[key] = model
            self.model.insertItem(self.model.count() - 1, _offer_text(model, speed), key)
        if selected in self.found:
            set_combo(self.model, selected)
            self.file.clear()
        self._update_enabled()

    def measure_speed(self) -> None:
        """Time the chosen model on a worker thread (a few seconds to a minute; remembered)."""
        value = self._model_value()
        if not value:
            return
        self.speed_button.setEnabled(False)
        self.speed_result.setStyleSheet("")
        self.speed_result.setText("Measuring…")
        gpu, threads = self._gpu_setting, self._threads

        def measure() -> SpeedResult:
            from her_desktop.models import resolve_model

            path = resolve_model(value).path
            return measure_speed(path, gpu_layers=gpu, n_threads=threads)

        def done(result: SpeedResult) -> None:
            self.speed_button.setEnabled(True)
            self.speed_result.setText(_speed_text(result))
            model = self.found.get(value)
            index = self.model.findData(value)
            if model is not None and index >= 0:
                self.model.setItemText(index, _offer_text(model, result))

        def failed(exc: BaseException) -> None:
            self.speed_button.setEnabled(True)
            self.speed_result.setStyleSheet(ERROR_STYLE)
            self.speed_result.setText(without_fix(str(exc)))

        run_in_background(measure, done, failed, owner=self)

    def _update_enabled(self) -> None:
        local = self.local.isChecked()
        self.local_box.setEnabled(local)
        self.remote_box.setEnabled(not local)
        custom = self.model.currentData() == _CUSTOM_FILE
        self.file.setEnabled(custom)
        self.browse.setEnabled(custom)
        self.gpu_layers.setEnabled(self.gpu.currentData() == "n")

    def choose_file(self) -> None:
        """Pick a GGUF file; a file that is not a complete GGUF model is refused inline."""
        start = str(Path(self.file.text()).expanduser().parent) if self.file.text() else ""
        name, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model file", start, "GGUF models (*.gguf);;All files (*)"
        )
        if not name:
            return
        problem = gguf_problem(Path(name))
        label = self.errors["llm.model"]
        if problem is not None:
            label.setText(f"{problem}. Pick a .gguf model file (llama.cpp format).")
            label.setVisible(True)
            return
        label.setVisible(False)
        set_combo(self.model, _CUSTOM_FILE)
        self.file.setText(name)

    def _model_value(self) -> str:
        data = self.model.currentData()
        return self.file.text().strip() if data == _CUSTOM_FILE else str(data)

    def _gpu_value(self) -> int | str:
        data: int | str = self.gpu.currentData()
        return self.gpu_layers.value() if data == "n" else data

    def apply(self, data: Data) -> None:
        llm = data["llm"]
        llm["engine"] = "llamacpp" if self.local.isChecked() else "remote"
        llm["model"] = self._model_value()
        llm["n_gpu_layers"] = self._gpu_value()
        llm["remote"]["url"] = self.url.text().strip()
        llm["remote"]["model"] = self.remote_model.text().strip()
        llm["remote"]["api_key_env"] = self.api_key_env.text().strip()

    def url_problem(self) -> str | None:
        try:
            parse_base_url(self.url.text())
        except EndpointError as exc:
            return without_fix(str(exc))
        return None

    def _show_url_problem(self) -> None:
        problem = self.url_problem()
        label = self.errors["llm.remote.url"]
        label.setText(problem or "")
        label.setVisible(problem is not None)

    def check(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if self.remote.isChecked():
            url = self.url_problem()
            if url is not None:
                problems["llm.remote.url"] = url
        elif self.model.currentData() == _CUSTOM_FILE:
            text = self.file.text().strip()
            if not text:
                problems["llm.model"] = (
                    "Choose a .gguf model file, or pick one of the models above."
                )
            else:
                problem = gguf_problem(Path(text).expanduser())
                if problem is not None:
                    problems["llm.model"] = (
                        f"{problem}. Pick a .gguf model file (llama.cpp format)."
                    )
        return problems

    def test_connection(self) -> None:
        """Ask the server for its models on a worker thread (at most a few seconds)."""
        problem = self.url_problem()
        if problem is not None:
            self.test_result.setText(problem)
            return
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Connecting…")
        url, model, key = self.url.text(), self.remote_model.text(), self.api_key_env.text()

        def done(text: str) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setText(text)

        def failed(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setStyleSheet(ERROR_STYLE)
            self.test_result.setText(without_fix(str(exc)))

        run_in_background(
            lambda: probe_server(url, model, key.strip(), CONNECTION_TEST_TIMEOUT_S),
            done,
            failed,
            owner=self,
        )
