; License Desk installer for Windows (NSIS 3, 64-bit), built on Linux by
; .ci/windows-installer.sh:
;   makensis -DVERSION=0.1.0 -DEXE=license-desk.exe -DAPP_EXE=license-desk-app.exe \
;            -DOUTFILE=out.exe installer.nsi
; Installs for all users into Program Files: "License Desk.exe" (the window, no console) with a
; Start-menu entry, and license-desk.exe beside it (the same program as a console CLI).
; Silent with /S.
; Uninstalling removes the program only: the data folder (%APPDATA%\LicenseDesk) with the
; database and signing keys is never touched.

Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma
; Large enough to see that the two executables are nearly the same program.
SetCompressorDictSize 64
RequestExecutionLevel admin

!ifndef VERSION
  !error "pass -DVERSION=x.y.z"
!endif
!ifndef EXE
  !error "pass -DEXE=path to license-desk.exe"
!endif
!ifndef APP_EXE
  !error "pass -DAPP_EXE=path to license-desk-app.exe"
!endif
!ifndef OUTFILE
  !define OUTFILE "license-desk-${VERSION}-windows-x64-setup.exe"
!endif

!define APP "License Desk"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\LicenseDesk"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP}"
InstallDirRegKey HKLM "${UNINSTALL_KEY}" "InstallLocation"
BrandingText "${APP} ${VERSION}"

!include "MUI2.nsh"
!define MUI_ICON "..\..\assets\icons\license-desk.ico"
!define MUI_UNICON "..\..\assets\icons\license-desk.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\License Desk.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP}"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductName" "${APP}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileDescription" "${APP} installer"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "LegalCopyright" "License Desk developers, MIT OR Apache-2.0"

Section "Install"
  SetShellVarContext all
  SetRegView 64
  SetOutPath "$INSTDIR"
  ; The window (GUI subsystem: no console) and, beside it, the CLI (license-desk.exe help).
  File "/oname=License Desk.exe" "${APP_EXE}"
  File "/oname=license-desk.exe" "${EXE}"
  File "/oname=license-desk.ico" "..\..\assets\icons\license-desk.ico"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortCut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\License Desk.exe" "" \
    "$INSTDIR\license-desk.ico" 0 SW_SHOWNORMAL "" "Customers, billing and offline-signed licenses"

  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "${APP}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\License Desk.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  SetRegView 64
  Delete "$SMPROGRAMS\${APP}.lnk"
  Delete "$INSTDIR\License Desk.exe"
  Delete "$INSTDIR\license-desk.exe"
  Delete "$INSTDIR\license-desk.ico"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR" ; only if empty: never a recursive delete
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
  ; The user's data (%APPDATA%\LicenseDesk: database, keys, ledger) stays.
SectionEnd
