//go:build !unix

package protocol

import (
	"errors"
	"os"
	"os/exec"
)

// ownGroup does nothing where there are no process groups to signal
// (Windows): there killGroup reaches the plugin alone, and a process the
// plugin started lives on.
func ownGroup(*exec.Cmd) {}

// killGroup kills the plugin process.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := cmd.Process.Kill()
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}
