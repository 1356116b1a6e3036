package factory

import (
	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hw"
)

// ResetButton opens the reset button of the board definition named name
// (board.Definition.ResetButton) through periph.io: a reader that reports
// it pressed, or nil when the board has none.
func ResetButton(name string) (pressed func() (bool, error), err error) {
	def, err := board.Lookup(name)
	if err != nil {
		return nil, err
	}
	if def.ResetButton == "" || def.Models {
		return nil, nil
	}
	return hw.Button(nil, def.ResetButton)
}
