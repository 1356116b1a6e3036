package line_test

import (
	"fmt"

	"github.com/loopstart/loopstart/voice/line"
)

func ExampleDigitMap_Match() {
	m, err := line.ParseDigitMap("(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxx)")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, digits := range []string{"1650", "0", "00", "*72", "*7*"} {
		fmt.Println(digits, m.Match(digits))
	}
	_, err = line.ParseDigitMap("(1xx|[5-2]x)")
	fmt.Println(err)
	// Output:
	// 1650 partial
	// 0 ambiguous
	// 00 complete
	// *72 complete
	// *7* nomatch
	// dial plan: column 7: range 5-2 runs backwards
}
