; PBFT Lab's additions to electron-builder's NSIS installer (electron-builder.yml: nsis.include).
;
; Windows Defender Firewall. A lab machine's replica accepts TCP connections from the other
; machines (libp2p; the cluster key refuses strangers before anything else) and answers mDNS
; (UDP 5353) so they find it. On a network Windows calls "Public", as many lab and campus networks
; are, inbound connections are blocked unless a rule allows them, and the prompt Windows shows on
; the first start ticks only private networks. So an installation for all users (it runs as
; administrator) adds one rule for the app's executable, on every network profile; the replica runs
; in a utility process of that same executable, so the rule covers it. An installation for the
; current user only cannot add it: Windows then asks on the first start (docs/lab-setup.md says
; what to tick). Uninstalling removes the rule.

!define PBFT_LAB_FIREWALL_RULE "PBFT Lab"

!macro customInstall
  UserInfo::GetAccountType
  Pop $0
  ${If} $0 == "Admin"
    ; A reinstall or an update replaces the rule rather than adding a second one.
    nsExec::ExecToLog 'netsh advfirewall firewall delete rule name="${PBFT_LAB_FIREWALL_RULE}"'
    Pop $1
    nsExec::ExecToLog 'netsh advfirewall firewall add rule name="${PBFT_LAB_FIREWALL_RULE}" description="PBFT Lab: replica connections from the other lab machines (TCP) and LAN discovery (mDNS)" dir=in action=allow program="$INSTDIR\${APP_EXECUTABLE_FILENAME}" enable=yes profile=any'
    Pop $1
    ${If} $1 != 0
      DetailPrint "Could not add the firewall rule (netsh exit code $1): Windows will ask on the first start."
    ${EndIf}
  ${Else}
    DetailPrint "Installed for this user only: no firewall rule (it needs an installation for all users). Windows will ask on the first start: allow private and public networks."
  ${EndIf}
!macroend

!macro customUnInstall
  UserInfo::GetAccountType
  Pop $0
  ${If} $0 == "Admin"
    nsExec::ExecToLog 'netsh advfirewall firewall delete rule name="${PBFT_LAB_FIREWALL_RULE}"'
    Pop $1
  ${EndIf}
!macroend
