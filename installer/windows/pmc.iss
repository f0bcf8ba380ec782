; Inno Setup 6 script for PMC, the Playout Management Console (Windows x64).
;
; Build on Windows, from the repository root, after the PyInstaller one-folder build:
;   python installer\dist.py
; which runs PyInstaller (dist\pmc\ with pmc.exe and pmcw.exe), renders build\icons\pmc.ico and
; calls the compiler like this:
;   ISCC.exe /DMyAppVersion=X.Y.Z /DBuildDir=dist\pmc /DIconFile=build\icons\pmc.ico
;            /Odist installer\windows\pmc.iss
; The version is never written here: it comes from pmc.__version__ through /DMyAppVersion.
;
; What the installer does: installs the one-folder build into Program Files (or, if the user
; chooses "only for me", into their own Programs folder), adds a Start-menu entry and an
; optional desktop shortcut, and registers the uninstaller in Apps & features. Upgrades
; replace the program folder. Uninstalling removes the program only: the operator's inventory,
; known hosts, job history and logs (%LOCALAPPDATA%\pmc) and the passwords in the Windows
; Credential Manager are kept.

#ifndef MyAppVersion
  #error Pass the version: ISCC /DMyAppVersion=X.Y.Z (installer\dist.py does it from pmc.__version__)
#endif
#ifndef BuildDir
  #define BuildDir "..\..\dist\pmc"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\pmc.ico"
#endif

#define MyAppName "Playout Management Console"
#define MyAppShortName "PMC"
#define MyAppPublisher "Icareus"
#define MyAppExeName "pmcw.exe"
#define MyCliExeName "pmc.exe"

[Setup]
; AppId identifies PMC for upgrades and the uninstaller: never change it. The doubled brace
; is Inno Setup's escape for a literal "{".
AppId={{6F1C2B4E-8A37-4D5F-9E21-3C7B0A9D5E14}
AppName={#MyAppName}
AppVersion={#MyAppVersion}
AppVerName={#MyAppName} {#MyAppVersion}
AppPublisher={#MyAppPublisher}
VersionInfoVersion={#MyAppVersion}
VersionInfoProductName={#MyAppName}
VersionInfoDescription={#MyAppName} installer
; {autopf}: Program Files in administrative install mode, the user's Programs folder otherwise.
DefaultDirName={autopf}\{#MyAppShortName}
DefaultGroupName={#MyAppName}
DisableProgramGroupPage=yes
; Administrator install for all users by default; the user may choose "only for me" instead.
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
; The build is 64-bit only.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputBaseFilename=pmc-{#MyAppVersion}-windows-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#MyAppExeName}
UninstallDisplayName={#MyAppName} {#MyAppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running PMC (Restart Manager) before replacing its files, and start it again after.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Messages]
UninstalledAll=%1 was removed from your computer.%n%nYour inventory, trusted host keys and job history (in your AppData\Local\pmc folder) and the passwords saved in Windows Credential Manager were kept. Delete them yourself if you no longer need them.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; A one-folder build must not mix libraries of two versions: clear the previous version's
; program files before copying the new ones. Only the program folder is touched.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BuildDir}\{#MyAppExeName}"; DestDir: "{app}"; Flags: ignoreversion
Source: "{#BuildDir}\{#MyCliExeName}"; DestDir: "{app}"; Flags: ignoreversion
Source: "{#BuildDir}\_internal\*"; DestDir: "{app}\_internal"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "..\inventory.example.toml"; DestDir: "{app}"; Flags: ignoreversion

[Icons]
; {autoprograms} and {autodesktop}: all users' Start menu and desktop in administrative install
; mode, the current user's otherwise.
Name: "{autoprograms}\{#MyAppName}"; Filename: "{app}\{#MyAppExeName}"; WorkingDir: "{app}"; Comment: "Set up redundancy, watch and synchronise Icareus Playout servers"
Name: "{autodesktop}\{#MyAppName}"; Filename: "{app}\{#MyAppExeName}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#MyAppExeName}"; Description: "{cm:LaunchProgram,{#StringChange(MyAppName, '&', '&&')}}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete] on purpose: the uninstaller removes exactly what [Files] and [Icons]
; installed, and leaves %LOCALAPPDATA%\pmc (inventory, known_hosts, pmc.sqlite3, Logs) alone.
