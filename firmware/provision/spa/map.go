package spa

import (
	"slices"

	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// Reasons a known element changes nothing.
const (
	whyProxy    = "outbound proxies are not in the configuration model: the registrar is used"
	whyPorts    = "the SIP listen address is the --sip flag"
	whyRegister = "an account with a registrar always registers"
	whyMailbox  = "the voicemail number is dialed like any other; MWI follows the account's message-summary"
	whyResync   = "resyncs run at start, every <provisioning><interval> (waiting for idle ports) and on SIP NOTIFY"
	whyUpgrade  = "firmware comes from the signed image named by <firmware><url>"
	whyWeb      = "web and device access are not set by a profile"
	whyPassword = "the web login is set at first setup and on the device, never by a profile"
	whyTime     = "the clock follows the system's NTP setup; time zones are not used"
	whySIP      = "Via rport handling follows the SIP stack"
	whyMedia    = "RTP packets are 20 ms"
	whyGroup    = "a group element: its children are read"
	whyLineOn   = "a line is on while a port uses its account"
	whyCodecs   = "G.729 is not available"
)

// ignored maps the elements of the FusionPBX SPA112 template that change
// nothing to the reason (line elements as Name_n_).
var ignored = map[string]string{
	"Line_Enable_n_":               whyLineOn,
	"Outbound_Proxy_n_":            whyProxy,
	"Use_Outbound_Proxy_n_":        whyProxy,
	"Use_OB_Proxy_In_Dialog_n_":    whyProxy,
	"SIP_Port_n_":                  whyPorts,
	"Register_n_":                  whyRegister,
	"Mailbox_ID_n_":                whyMailbox,
	"G729a_Enable_n_":              whyCodecs,
	"Provision_Enable":             whyResync,
	"Resync_On_Reset":              whyResync,
	"Resync_Random_Delay":          whyResync,
	"Resync_At_Random_Delay":       whyResync,
	"Resync_Error_Retry_Delay":     whyResync,
	"Forced_Resync_Delay":          whyResync,
	"Resync_From_SIP":              whyResync,
	"Resync_After_Upgrade_Attempt": whyResync,
	"Resync_At__HHmm_":             whyResync,
	"Upgrade_Enable":               whyUpgrade,
	"Upgrade_Rule":                 whyUpgrade,
	"Enable_Web_Admin_Access":      whyWeb,
	"Reset_Button_Enable":          whyWeb,
	"Web_Utility_Access_HTTP":      whyWeb,
	"Web_Utility_Access_HTTPS":     whyWeb,
	"Web_Login_Admin_Name":         whyPassword,
	"Web_Login_Admin_Password":     whyPassword,
	"Admin_Passwd":                 whyPassword,
	"Time_Zone":                    whyTime,
	"Time_Server":                  whyTime,
	"Time_Server_Mode":             whyTime,
	"Resync_Timer":                 whyTime,
	"Auto_Recovery_System_Time":    whyTime,
	"Time_Mode":                    whyTime,
	"Primary_NTP_Server":           whyTime,
	"Handle_VIA_rport":             whySIP,
	"Insert_VIA_received":          whySIP,
	"Insert_VIA_rport":             whySIP,
	"RTP_Packet_Size":              whyMedia,
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
	"Profile_Rule":              "provisioning/url",
	"Resync_Periodic":           "provisioning/interval",
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
