package spa

import (
	"slices"

	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// Reasons a known element changes nothing.
const (
	whyOBInDialog   = "requests in a dialog follow the dialog's route set; the outbound proxy is used outside one"
	whyPorts        = "the SIP listen address is the --sip flag"
	whyRegister     = "an account with a registrar always registers"
	whyMailbox      = "the voicemail number is dialed like any other; MWI follows the account's message-summary"
	whyResync       = "resyncs run at start, every <provisioning><interval> (waiting for idle ports) and on SIP NOTIFY"
	whyUpgrade      = "firmware comes from the signed image named by <firmware><url>"
	whyWeb          = "web and device access are not set by a profile"
	whyPassword     = "the web login is set at first setup and on the device, never by a profile"
	whyTime         = "the clock follows the system's NTP setup; time zones are not used"
	whySIP          = "Via rport handling follows the SIP stack"
	whyMedia        = "RTP packets are 20 ms; jitter buffer, silence suppression and DTMF timing follow the media loop"
	whyGroup        = "a group element: its children are read"
	whyLineOn       = "a line is on while a port uses its account"
	whyCodecs       = "G.729 is not available"
	whyCodes        = "feature codes are the port's <star-codes>; a profile does not change them"
	whyPhoneOnly    = "a phone setting (display, keys, directory, language) an analog adapter has no use for"
	whyTones        = "tones, ring cadences, caller ID signalling and line impedance follow the port's <country> and <caller-id>"
	whyNetwork      = "the network (VLAN, DNS, DHCP) is the system's, set on the device, not by a profile"
	whyFax          = "fax follows the port's <fax> (pass-through on detection; T.38 is not offered)"
	whyEcho         = "the echo canceller always adapts; only on/off (Echo_Canc_Enable_n_) is set"
	whyNotifyAuth   = "NOTIFY authentication is decided by the SIP stack, not by a profile"
	whySIPStack     = "DNS SRV, fallback and Remote-Party-ID follow the SIP stack"
	whyLog          = "logging goes to the system log"
	whyProfileRules = "only Profile_Rule is used"
	whyDialing      = "inter-digit timers are the dial plan's (S and L in an SPA plan)"
)

// ignored maps the elements of the FusionPBX SPA112 template that change
// nothing to the reason (line elements as Name_n_).
var ignored = map[string]string{
	"Line_Enable_n_":                     whyLineOn,
	"Use_OB_Proxy_In_Dialog_n_":          whyOBInDialog,
	"SIP_Port_n_":                        whyPorts,
	"Register_n_":                        whyRegister,
	"Mailbox_ID_n_":                      whyMailbox,
	"G729a_Enable_n_":                    whyCodecs,
	"Provision_Enable":                   whyResync,
	"Resync_On_Reset":                    whyResync,
	"Resync_Random_Delay":                whyResync,
	"Resync_At_Random_Delay":             whyResync,
	"Resync_Error_Retry_Delay":           whyResync,
	"Forced_Resync_Delay":                whyResync,
	"Resync_From_SIP":                    whyResync,
	"Resync_After_Upgrade_Attempt":       whyResync,
	"Resync_At__HHmm_":                   whyResync,
	"Upgrade_Enable":                     whyUpgrade,
	"Upgrade_Rule":                       whyUpgrade,
	"Enable_Web_Admin_Access":            whyWeb,
	"Reset_Button_Enable":                whyWeb,
	"Web_Utility_Access_HTTP":            whyWeb,
	"Web_Utility_Access_HTTPS":           whyWeb,
	"Web_Login_Admin_Name":               whyPassword,
	"Web_Login_Admin_Password":           whyPassword,
	"Admin_Passwd":                       whyPassword,
	"Time_Zone":                          whyTime,
	"Time_Server":                        whyTime,
	"Time_Server_Mode":                   whyTime,
	"Resync_Timer":                       whyTime,
	"Auto_Recovery_System_Time":          whyTime,
	"Time_Mode":                          whyTime,
	"Primary_NTP_Server":                 whyTime,
	"Handle_VIA_rport":                   whySIP,
	"Insert_VIA_received":                whySIP,
	"Insert_VIA_rport":                   whySIP,
	"RTP_Packet_Size":                    whyMedia,
	"Accept_Last_Act_Code":               whyCodes,
	"Accept_Last_Deact_Code":             whyCodes,
	"Attendant_Console_Call_Pickup_Code": whyCodes,
	"Attn-Xfer_Act_Code":                 whyCodes,
	"Blind_Transfer_Code":                whyCodes,
	"Block_ANC_Act_Code":                 whyCodes,
	"Block_ANC_Deact_Code":               whyCodes,
	"Block_CID_Act_Code":                 whyCodes,
	"Block_CID_Deact_Code":               whyCodes,
	"Block_CID_Per_Call_Act_Code":        whyCodes,
	"Block_CID_Per_Call_Deact_Code":      whyCodes,
	"Block_Last_Act_Code":                whyCodes,
	"Block_Last_Deact_Code":              whyCodes,
	"CWCID_Act_Code":                     whyCodes,
	"CWCID_Deact_Code":                   whyCodes,
	"CW_Act_Code":                        whyCodes,
	"CW_Deact_Code":                      whyCodes,
	"CW_Per_Call_Act_Code":               whyCodes,
	"CW_Per_Call_Deact_Code":             whyCodes,
	"Call_Back_Act_Code":                 whyCodes,
	"Call_Back_Busy_Act_Code":            whyCodes,
	"Call_Back_Deact_Code":               whyCodes,
	"Call_Park_Code":                     whyCodes,
	"Call_Pickup_Code":                   whyCodes,
	"Call_Redial_Code":                   whyCodes,
	"Call_Return_Code":                   whyCodes,
	"Call_UnPark_Code":                   whyCodes,
	"Cfwd_All_Act_Code":                  whyCodes,
	"Cfwd_All_Deact_Code":                whyCodes,
	"Cfwd_Busy_Act_Code":                 whyCodes,
	"Cfwd_Busy_Deact_Code":               whyCodes,
	"Cfwd_Last_Act_Code":                 whyCodes,
	"Cfwd_Last_Deact_Code":               whyCodes,
	"Cfwd_No_Ans_Act_Code":               whyCodes,
	"Cfwd_No_Ans_Deact_Code":             whyCodes,
	"Conference_Act_Code":                whyCodes,
	"DND_Act_Code":                       whyCodes,
	"DND_Deact_Code":                     whyCodes,
	"Dist_Ring_Act_Code":                 whyCodes,
	"Dist_Ring_Deact_Code":               whyCodes,
	"FAX_Line_Toggle_Code":               whyCodes,
	"Feature_Dial_Services_Codes":        whyCodes,
	"Force_G711a_Code":                   whyCodes,
	"Force_G711u_Code":                   whyCodes,
	"Force_G722_Code":                    whyCodes,
	"Force_G723_Code":                    whyCodes,
	"Force_G726r16_Code":                 whyCodes,
	"Force_G726r24_Code":                 whyCodes,
	"Force_G726r32_Code":                 whyCodes,
	"Force_G726r40_Code":                 whyCodes,
	"Force_G729a_Code":                   whyCodes,
	"Force_L16_Code":                     whyCodes,
	"Group_Call_Pickup_Code":             whyCodes,
	"Media_Loopback_Code":                whyCodes,
	"Modem_Line_Toggle_Code":             whyCodes,
	"Paging_Code":                        whyCodes,
	"Prefer_G711a_Code":                  whyCodes,
	"Prefer_G711u_Code":                  whyCodes,
	"Prefer_G722_Code":                   whyCodes,
	"Prefer_G723_Code":                   whyCodes,
	"Prefer_G726r16_Code":                whyCodes,
	"Prefer_G726r24_Code":                whyCodes,
	"Prefer_G726r32_Code":                whyCodes,
	"Prefer_G726r40_Code":                whyCodes,
	"Prefer_G729a_Code":                  whyCodes,
	"Prefer_L16_Code":                    whyCodes,
	"Referral_Services_Codes":            whyCodes,
	"Secure_All_Call_Act_Code":           whyCodes,
	"Secure_No_Call_Act_Code":            whyCodes,
	"Secure_One_Call_Act_Code":           whyCodes,
	"Secure_One_Call_Deact_Code":         whyCodes,
	"Speed_Dial_Act_Code":                whyCodes,
	"Alert_Tone":                         whyTones,
	"Busy_Tone":                          whyTones,
	"Call_Waiting_Tone":                  whyTones,
	"Caller_ID_FSK_Standard":             whyTones,
	"Caller_ID_Method":                   whyTones,
	"Cfwd_Dial_Tone":                     whyTones,
	"Conference_Tone":                    whyTones,
	"Confirm_Tone":                       whyTones,
	"Dial_Tone":                          whyTones,
	"FXS_Port_Impedance":                 whyTones,
	"Feature_Invocation_Tone":            whyTones,
	"Holding_Tone":                       whyTones,
	"MWI_Dial_Tone":                      whyTones,
	"Off_Hook_Warning_Tone":              whyTones,
	"Outside_Dial_Tone":                  whyTones,
	"Page_Tone":                          whyTones,
	"Prompt_Tone":                        whyTones,
	"Reorder_Delay":                      whyTones,
	"Reorder_Tone":                       whyTones,
	"Ring1_Cadence":                      whyTones,
	"Ring_Back_Tone":                     whyTones,
	"Ring_Frequency":                     whyTones,
	"Ring_Voltage":                       whyTones,
	"Ring_Waveform":                      whyTones,
	"SIT1_Tone":                          whyTones,
	"SIT2_Tone":                          whyTones,
	"SIT3_Tone":                          whyTones,
	"SIT4_Tone":                          whyTones,
	"Secure_Call_Indication_Tone":        whyTones,
	"Auth_Resync-Reboot_n_":              whyNotifyAuth,
	"Conferencing_Key_List":              whyPhoneOnly,
	"Connected_Key_List":                 whyPhoneOnly,
	"Date_Format":                        whyPhoneOnly,
	"Default_Character_Encoding":         whyPhoneOnly,
	"Dialing_Input_Key_List":             whyPhoneOnly,
	"Dictionary_Server_Script":           whyPhoneOnly,
	"Extended_Function_n_":               whyPhoneOnly,
	"Extension_n_":                       whyPhoneOnly,
	"Hold_Package":                       whyPhoneOnly,
	"Idle_Key_List":                      whyPhoneOnly,
	"Language_Selection":                 whyPhoneOnly,
	"Locale":                             whyPhoneOnly,
	"Missed_Call_Key_List":               whyPhoneOnly,
	"Off_Hook_Key_List":                  whyPhoneOnly,
	"Ringing_Key_List":                   whyPhoneOnly,
	"SPCP_Auto-detect":                   whyPhoneOnly,
	"Screen_Saver_Enable":                whyPhoneOnly,
	"Short_Name_n_":                      whyPhoneOnly,
	"Start-Conf_Key_List":                whyPhoneOnly,
	"Start-Xfer_Key_List":                whyPhoneOnly,
	"Station_Name":                       whyPhoneOnly,
	"Talk_Package":                       whyPhoneOnly,
	"Text_Logo":                          whyPhoneOnly,
	"Time_Format":                        whyPhoneOnly,
	"User_Password":                      whyPhoneOnly,
	"Web_Login_Guest_Name":               whyPhoneOnly,
	"Web_Login_Guest_Password":           whyPhoneOnly,
	"XML_Directory_Service_Name":         whyPhoneOnly,
	"XML_Directory_Service_URL":          whyPhoneOnly,
	"DTMF_Tx_Mode_n_":                    whyMedia,
	"Jitter_Buffer_Adjustment_n_":        whyMedia,
	"Network_Jitter_Level_n_":            whyMedia,
	"RTP-Start-Loopback_Codec":           whyMedia,
	"Silence_Supp_Enable_n_":             whyMedia,
	"Echo_Canc_Adapt_Enable_n_":          whyEcho,
	"Echo_Supp_Enable_n_":                whyEcho,
	"Enable_DHCP_Server":                 whyNetwork,
	"Enable_PC_Port_VLAN_Tagging":        whyNetwork,
	"Enable_VLAN":                        whyNetwork,
	"PC_Port_VLAN_ID":                    whyNetwork,
	"Primary_DNS":                        whyNetwork,
	"VLAN_ID":                            whyNetwork,
	"WAN_VLAN_Enable":                    whyNetwork,
	"WAN_VLAN_ID":                        whyNetwork,
	"WAN_VLAN_Setting":                   whyNetwork,
	"Enable_WAN_Web_Server":              whyWeb,
	"Web_Management":                     whyWeb,
	"Web_Remote_Management":              whyWeb,
	"FAX_Disable_ECAN_n_":                whyFax,
	"FAX_Enable_T38_n_":                  whyFax,
	"FAX_Passthru_Codec_n_":              whyFax,
	"FAX_Passthru_Method_n_":             whyFax,
	"FAX_T38_Redundancy_n_":              whyFax,
	"FAX_Tone_Detect_Mode_n_":            whyFax,
	"Interdigit_Long_Timer":              whyDialing,
	"Interdigit_Short_Timer":             whyDialing,
	"Profile_Rule_B":                     whyProfileRules,
	"Profile_Rule_C":                     whyProfileRules,
	"Proxy_Fallback_Intvl_n_":            whySIPStack,
	"SIP_Remote-Party-ID_n_":             whySIPStack,
	"Use_DNS_SRV_n_":                     whySIPStack,
	"Syslog_Server":                      whyLog,
	"Voice_Mail_Number":                  whyMailbox,
}

// mapped lists the elements this package converts and their targets.
var mapped = map[string]string{
	"Proxy_n_":                  "account/registrar",
	"User_ID_n_":                "account/user",
	"Password_n_":               "account/password",
	"Display_Name_n_":           "account/display-name",
	"Auth_ID_n_":                "account/auth-user",
	"Use_Auth_ID_n_":            "account/auth-user",
	"Register_Expires_n_":       "account/expires",
	"SIP_Transport_n_":          "account/transport",
	"Preferred_Codec_n_":        "account/codecs",
	"Second_Preferred_Codec_n_": "account/codecs",
	"Third_Preferred_Codec_n_":  "account/codecs",
	"Use_Pref_Codec_Only_n_":    "account/codecs",
	"Mailbox_Subscribe_URL_n_":  "account/mailbox, account/mwi-subscribe",
	"DTMF_Tx_Method_n_":         "port/dtmf",
	"Hook_Flash_Tx_Method_n_":   "port/flash-relay",
	"Dial_Plan_n_":              "port/dial-plan",
	"Call_Waiting_Serv_n_":      "port/call-waiting",
	"Xfer_When_Hangup_Conf_n_":  "port/conference-transfer",
	"Three_Way_Call_Serv_n_":    "port/three-way",
	"Echo_Canc_Enable_n_":       "port/echo-canceller",
	"Profile_Rule":              "provisioning/url",
	"Outbound_Proxy_n_":         "account/outbound-proxy",
	"Use_Outbound_Proxy_n_":     "account/outbound-proxy",
	"NAT_Keep_Alive_Enable_n_":  "account/keep-alive",
	"NAT_Keep_Alive_Intvl_n_":   "account/keep-alive",
	"NAT_Keep_Alive_Intvl":      "account/keep-alive (each line's account)",
	"STUN_Enable":               "account/stun (each line's account)",
	"STUN_Server":               "account/stun (each line's account)",
	"Resync_Periodic":           "provisioning/interval",
}

// unusedWhy says why a mapped element that changed nothing did so.
var unusedWhy = map[string]string{
	"NAT_Keep_Alive_Intvl":    "no line the file sets sends keep-alives",
	"NAT_Keep_Alive_Intvl_n_": "the line does not send keep-alives",
	"STUN_Enable":             "no line is on this gateway",
	"STUN_Server":             "no line the file sets uses STUN (STUN_Enable Yes)",
}

// Map returns every element this package knows (line elements as
// Name_n_), each with the native path it sets (relative to the line's
// account or port) or "ignored: reason", sorted by name. Group elements
// (flat-profile, router-configuration, Time_Setup) are included.
func Map() []vendor.Mapping {
	var out []vendor.Mapping
	for k, t := range mapped {
		out = append(out, vendor.Mapping{Param: k, Target: t})
	}
	for k, why := range ignored {
		out = append(out, vendor.Mapping{Param: k, Target: vendor.IgnoredPrefix + why})
	}
	for _, g := range []string{"flat-profile", "router-configuration", "Time_Setup"} {
		out = append(out, vendor.Mapping{Param: g, Target: vendor.IgnoredPrefix + whyGroup})
	}
	slices.SortFunc(out, func(a, b vendor.Mapping) int {
		if a.Param < b.Param {
			return -1
		}
		if a.Param > b.Param {
			return 1
		}
		return 0
	})
	return out
}
