//go:build unix

package simulator

import "syscall"

const noFollow = syscall.O_NOFOLLOW
