package transport

import (
	"runtime"
	"runtime/debug"
	"strings"

	netipc "github.com/netdata/netipc/go"
)

// Shared memory is hostile territory: the peer may shrink the file behind a
// mapping (ftruncate), and the next access to a page past the new end of
// the file raises SIGBUS. The Go runtime turns such a fault into a crash of
// the whole process unless the faulting goroutine has asked for a panic
// instead (debug.SetPanicOnFault). Every access to a mapped region runs
// between guardFault and endFault, which turn the fault into an error for
// that session only and restore the goroutine's previous setting.

// errFault is what a faulting region access returns: the session is over.
var errFault = &netipc.Error{Op: "shm", Code: netipc.ErrDisconnected,
	Err: faultError("shared memory region became inaccessible (truncated by the peer?)")}

type faultError string

func (e faultError) Error() string { return string(e) }

// guardFault enables panic-on-fault for this goroutine; pass its result to
// endFault in a deferred call.
func guardFault() bool { return debug.SetPanicOnFault(true) }

// endFault restores the setting and, when the deferred call is unwinding a
// memory fault, stores errFault in *err. Any other panic goes on. (Go 1.19
// reports a fault as the runtime error "invalid memory address or nil
// pointer dereference"; the guarded code only dereferences the mapping.)
func endFault(old bool, err *error) {
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		if re, ok := r.(runtime.Error); ok && (strings.Contains(re.Error(), "invalid memory address") ||
			strings.Contains(re.Error(), "fault")) {
			*err = errFault
			return
		}
		panic(r)
	}
}
