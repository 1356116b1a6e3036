package lab

// SIPp scenario fragments the lab's scenarios share. Each is XML text
// spliced into a scenario's raw string.

// sippInviteHead is the start of SIPp's INVITE to [service] (CSeq 1)
// with an SDP body: the request line and headers, up to Content-Length.
const sippInviteHead = `INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]
`

// sippSDP is SIPp's G.711 mu-law offer (or answer) on its media port.
const sippSDP = `v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`

// sippOK is SIPp's 200 to the last request received.
const sippOK = `  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
`

// sippACKFailure is SIPp's ACK of a failure answer to its INVITE.
const sippACKFailure = `  <send>
    <![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
[last_Call-ID:]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
`

// sippMark writes line to the marker file name.
func sippMark(name, line string) string {
	return `  <nop>
    <action>
      <exec command="echo ` + line + ` >> @DIR@/` + name + `"/>
    </action>
  </nop>
`
}
