// Package update installs signed firmware images in A/B slots and rolls
// back an image that does not come up healthy.
//
// # Image format
//
// An image is one file:
//
//	"LOOPSTART-FIRMWARE 1\n"                    magic, 21 bytes
//	uint32 big-endian                           manifest length (≤ MaxManifest)
//	manifest                                    JSON, see Manifest
//	64 bytes                                    ed25519 signature of SignedPrefix + manifest
//	payload                                     Manifest.Size bytes, then end of file
//
// The manifest names the version, the target (board/architecture), the
// payload's size and SHA-256, when it was signed (created) and, when it
// differs from that, when it was built (built). Because the signed manifest comes first, an
// image is checked before a byte of it is written: the signature (against
// the trusted Keys), the target and the caller's policy (Install's Accept,
// for example "not the version already running") are verified as soon as
// the manifest has arrived; a bad image is refused without creating any
// file. The payload is then streamed into a temporary file beside the
// inactive slot while its SHA-256 is computed, and only an exact size and
// hash match renames it into the slot. A tampered payload, a short or
// over-long stream, a cancelled upload or a failed write removes the
// temporary file: the slots and the pointers stay as they were.
//
// # Downgrades
//
// An image older than the running firmware is refused (ErrDowngrade),
// before any file is written, unless the install says it is allowed
// (InstallOptions.AllowDowngrade: the admin confirmed it, or the
// provisioning profile says <allow-downgrade>true</allow-downgrade>).
// Versions come from git describe and are often bare commit hashes, so
// "older" is decided by Compare: when both versions are semantic versions
// ([v]X.Y.Z[-PRE][-N-gHASH][-dirty]) that differ, by semantic version
// precedence, then commits after the tag; otherwise by build date, when
// both are known; otherwise the image is not a downgrade (the caller
// says so). An image's build date is Manifest.Built, or Created for an
// image signed without one (every image signed before the field
// existed). The running firmware's release is its slot's manifest, or
// for the factory binary BuiltIn: BuildDate (set at link time by the
// Makefile) or the VCS commit time Go stamps into a binary built from a
// git checkout.
//
// # Slots on disk
//
// A Store keeps its state in one directory (DATA/firmware):
//
//	slot-a, slot-b             payloads (on the sim board and the image: the loopstart binary)
//	slot-a.manifest, ...       the signed header of the payload in that slot
//	current                    "a" or "b": the slot to start; absent means the built-in (factory) binary
//	pending                    JSON {slot, previous, version, boots}: a trial start not yet confirmed
//	last-error, rejected       why the last trial was rolled back, and that version
//
// Every file is written to a temporary name, synced and renamed, and the
// directory is synced. Switch writes pending before current, so a crash
// between the two leaves a stale pending that Boot discards.
//
// # Trial start and rollback
//
// Whoever starts the firmware calls Boot first: it counts the start in
// pending and, after MaxBoots starts that never confirmed, rolls back to
// the previous slot (or the factory binary). It also re-verifies the
// chosen slot's signature and hash, so a slot damaged on disk is never
// started. A trial start must then prove itself: Trial polls a health
// check (the media loop ticking and the web UI answering) until it passes
// and calls Confirm, or, when the deadline passes first, calls Rollback,
// which points current back at the previous slot and records the reason
// and the rejected version.
//
// `loopstart run` does both sides itself, on the sim board and on the
// image alike (firmware/app/firmware.go): at start it opens
// DATA/firmware, runs Boot and, when a slot should run, re-executes
// itself from that slot's payload (same PID, so whoever supervises the
// process keeps it); after an upgrade it switches and re-executes once
// the lines are idle; a trial start runs Trial against its own media
// loop tick counter and /healthz. A new image that crashes or hangs
// before it can roll itself back is caught by the boot counter: on the
// image the boot process (firmware/system's supervisor) restarts
// `loopstart run` from the initramfs (/bin/loopstart, the factory
// binary), whose Boot counts the start and rolls back after MaxBoots.
// The data partition must not be mounted noexec. A stricter split, with
// the boot process running Boot and Trial itself (system.LoopHealth as
// the check) and starting BootInfo.Binary directly, needs no change
// here: the Store is safe to use from either process, one at a time.
//
// # Keys
//
// Images are signed with ed25519 (tools/fwsign makes keys and signs).
// The public keys a build trusts are the *.pub files in keys/ (embedded)
// plus any given with -ldflags "-X .../firmware/update.BuildKeys=KEY[,KEY]";
// `loopstart run --firmware-key FILE` adds one at run time (development
// and tests). testdata/test.key is a test key that no build trusts.
package update
