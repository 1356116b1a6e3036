package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision/grandstream"
	"github.com/loopstart/loopstart/firmware/provision/spa"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

const convertUsage = `usage:
  loopstart config convert [-mac HEX] [-onto FILE] FILE
                                    print a Grandstream (<gs_provision>) or Cisco
                                    SPA (<flat-profile>) provisioning file as
                                    native XML: the partial configuration it
                                    sends, or with -onto the whole configuration
                                    it makes of FILE; ignored parameters are
                                    listed in a comment. Exit 1 with one line
                                    per problem if a value cannot be used.
`

// configConvert runs `loopstart config convert`.
func configConvert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, convertUsage) }
	mac := fs.String("mac", "", "the gateway's MAC (hex, : or - allowed); a Grandstream <mac> must match it")
	onto := fs.String("onto", "", "a native configuration file to apply the converted file to")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "loopstart config convert: want exactly one FILE, got %d arguments\n%s", fs.NArg(), convertUsage)
		return 2
	}
	file := fs.Arg(0)
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "loopstart config convert: %v\n", err)
		return 1
	}
	var cur *config.Config
	if *onto != "" {
		if cur, err = config.ParseFile(*onto); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", *onto, err)
			return 1
		}
	}
	macHex := strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(*mac))
	var doc *vendor.Doc
	switch root := vendor.Root(data); root {
	case grandstream.RootElement:
		doc, err = grandstream.Convert(data, grandstream.Options{Current: cur, MAC: macHex})
	case spa.RootElement:
		doc, err = spa.Convert(data, spa.Options{Current: cur})
	case "loopstart":
		fmt.Fprintf(stderr, "%s: already native XML (check it with loopstart config check)\n", file)
		return 1
	case "":
		fmt.Fprintf(stderr, "%s: not an XML provisioning file (a Grandstream binary cfg<mac> file cannot be read; ask the PBX for cfg<mac>.xml)\n", file)
		return 1
	default:
		fmt.Fprintf(stderr, "%s: root element <%s> is not <%s> or <%s>\n", file, root, grandstream.RootElement, spa.RootElement)
		return 1
	}
	if doc == nil {
		fmt.Fprintf(stderr, "%s: %v\n", file, err)
		return 1
	}
	var out []byte
	if err == nil {
		if cur != nil {
			var next *config.Config
			if next, err = doc.Merge(cur); err == nil {
				out, err = next.Marshal()
			}
		} else {
			out = doc.XML()
		}
	}
	if err != nil {
		var verr *vendor.Error
		if errors.As(err, &verr) {
			for _, p := range verr.Problems {
				fmt.Fprintf(stderr, "%s: %s\n", file, p)
			}
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", file, err)
		}
		return 1
	}
	stdout.Write(out)
	if len(doc.Ignored) > 0 {
		fmt.Fprintf(stdout, "<!-- %d %s parameters ignored:\n", len(doc.Ignored), doc.Format)
		for _, ig := range doc.Ignored {
			fmt.Fprintf(stdout, "     %s\n", strings.ReplaceAll(ig.String(), "--", "- -"))
		}
		fmt.Fprintln(stdout, "-->")
	}
	return 0
}
