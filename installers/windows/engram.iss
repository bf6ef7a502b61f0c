; Inno Setup script for Engram on Windows (built by installers/build.sh in CI):
;   iscc /DVersion=0.1.0 /DSourceDir=dist\engram /DIconFile=build\icons\engram.ico /Odist windows\engram.iss
; Installs the PyInstaller folder (engram.exe for terminals, engram-gui.exe without a
; console) per user by default (no admin rights), a Start menu entry, optionally a
; desktop icon, start at login (the same Run-key value `engram autostart on` writes)
; and engram on PATH. Uninstalling leaves the person's data (%LOCALAPPDATA%\engram).
#ifndef Version
  #define Version "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\engram"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\engram.ico"
#endif

[Setup]
AppId={{6B0F5A8E-2C7D-4E51-9F3A-E9A2D1C47B10}
AppName=Engram
AppVersion={#Version}
AppVerName=Engram {#Version}
AppPublisher=Engram
DefaultDirName={autopf}\Engram
DefaultGroupName=Engram
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=engram-{#Version}-windows-x86_64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\engram-gui.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
CloseApplications=yes
InfoAfterFile=tesseract.txt

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "autostart"; Description: "Start Engram when I log in (in the tray)"; Flags: unchecked
Name: "addtopath"; Description: "Add the engram command to PATH (for terminals)"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Engram"; Filename: "{app}\engram-gui.exe"; Comment: "Private memory of what you see and work on"
Name: "{autodesktop}\Engram"; Filename: "{app}\engram-gui.exe"; Tasks: desktopicon

[Registry]
; Start at login: the value app/autostart.py reads and writes (Settings, `engram autostart`).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "Engram"; ValueData: """{app}\engram-gui.exe"" --start-hidden"; Tasks: autostart
; Removed on uninstall however it was set (installer, Settings or the CLI).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "Engram"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\engram-gui.exe"; Description: "Start Engram now"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Path, Dir: string;
  P: Integer;
begin
  if CurUninstallStep <> usPostUninstall then exit;
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then exit;
  Dir := ';' + ExpandConstant('{app}');
  P := Pos(Uppercase(Dir), Uppercase(Path));
  if P > 0 then
  begin
    Delete(Path, P, Length(Dir));
    RegWriteExpandStringValue(HKCU, 'Environment', 'Path', Path);
  end;
end;
