package mqtttest

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes cmd be killed (SIGKILL) when the test process dies,
// so that a test killed by -timeout or a signal leaves no broker or
// recorder behind. Call it before cmd.Start. Linux only; elsewhere it does
// nothing.
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
