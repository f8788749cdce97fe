//go:build unix

package protocol

import (
	"errors"
	"os/exec"
	"syscall"
)

// ownGroup makes cmd start in a process group of its own, whose id is
// its pid, so that killGroup reaches every process the plugin starts.
// It also keeps a terminal's Ctrl-C, which signals the foreground group,
// away from the plugin: the host handles it and stops the plugin itself.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the process group cmd leads: the plugin and every
// process it started that stayed in its group. A group already gone is
// not an error.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
