; Inno Setup script for her_desktop on Windows (Inno Setup 6).
;
;   pyinstaller --noconfirm packaging\her_desktop.spec        (makes dist\her-desktop\)
;   iscc /DAppVersion=0.1.0 packaging\windows\her-desktop.iss  (makes dist\her-desktop-0.1.0-setup.exe)
;
; Optional: /DWithModels=1 also installs dist\models\ (the default LM, joined and verified, with
; its .verified.json stamp) into {app}\models; the app links it into the user's models folder on
; first start (packaging/rthooks/her_desktop_system_models.py).
;
; Per-user install by default (no admin prompt; the user may choose all users). User data
; (memories, conversations, settings in %APPDATA%\her_desktop and %LOCALAPPDATA%\her_desktop)
; is never removed by the uninstaller: only the files this installer put in {app}.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Her Desktop"
#define AppExe "her-desktop.exe"
#define GuiExe "her-desktop-gui.exe"
#define SourceDir "..\..\dist\her-desktop"

[Setup]
; A fixed AppId keeps upgrades in place (never change it).
AppId={{6E0C5D2A-3B71-4F4E-9C1E-5B8A4D2F7A10}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=her_desktop developers
AppPublisherURL=https://github.com/her-desktop/her_desktop
DefaultDirName={autopf}\Her Desktop
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
OutputDir=..\..\dist
OutputBaseFilename=her-desktop-{#AppVersion}-setup
UninstallDisplayIcon={app}\{#GuiExe}
LicenseFile=..\..\LICENSE
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
#ifdef WithModels
; the model does not compress: stored as is (saves many minutes of build time)
Source: "..\..\dist\models\*"; DestDir: "{app}\models"; Flags: ignoreversion nocompression
#endif
Source: "..\..\LICENSE"; DestDir: "{app}"; DestName: "LICENSE.txt"; Flags: ignoreversion
Source: "..\..\THIRD_PARTY.md"; DestDir: "{app}"; DestName: "THIRD_PARTY.txt"; Flags: ignoreversion

[InstallDelete]
; an upgrade replaces the app's own files only (old libraries must not linger)
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#GuiExe}"
Name: "{group}\{#AppName} health check"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#AppExe}"" doctor"; IconFilename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only what lives inside {app}; user data in %APPDATA% / %LOCALAPPDATA% is kept on purpose
Type: dirifempty; Name: "{app}\models"
Type: dirifempty; Name: "{app}"
