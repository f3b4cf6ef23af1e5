"""The pages of the Settings window, one file each (the window is ``gui/settings_dialog.py``).

``page.py`` holds the base class and the small widgets every page uses; ``probes.py`` the
Qt-free questions the pages ask (is the server there, which voices are installed).
"""
