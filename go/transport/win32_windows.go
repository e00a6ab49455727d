package transport

import (
	"syscall"
	"unsafe"
)

// The Win32 calls the Windows transports need that package syscall does
// not wrap, called through kernel32 procs (no cgo, no third-party module).

var (
	kernel32                    = syscall.NewLazyDLL("kernel32.dll")
	procCreateNamedPipeW        = kernel32.NewProc("CreateNamedPipeW")
	procConnectNamedPipe        = kernel32.NewProc("ConnectNamedPipe")
	procDisconnectNamedPipe     = kernel32.NewProc("DisconnectNamedPipe")
	procSetNamedPipeHandleState = kernel32.NewProc("SetNamedPipeHandleState")
	procPeekNamedPipe           = kernel32.NewProc("PeekNamedPipe")
	procGetOverlappedResult     = kernel32.NewProc("GetOverlappedResult")
	procCreateEventW            = kernel32.NewProc("CreateEventW")
	procOpenEventW              = kernel32.NewProc("OpenEventW")
	procSetEvent                = kernel32.NewProc("SetEvent")
	procResetEvent              = kernel32.NewProc("ResetEvent")
	procWaitForMultipleObjects  = kernel32.NewProc("WaitForMultipleObjects")
	procCreateFileMappingW      = kernel32.NewProc("CreateFileMappingW")
	procOpenFileMappingW        = kernel32.NewProc("OpenFileMappingW")
	procVirtualQuery            = kernel32.NewProc("VirtualQuery")
	procSwitchToThread          = kernel32.NewProc("SwitchToThread")
)

const (
	pipeAccessDuplex          = 0x00000003
	fileFlagFirstPipeInstance = 0x00080000
	fileFlagOverlapped        = 0x40000000
	pipeTypeMessage           = 0x00000004
	pipeReadmodeMessage       = 0x00000002
	pipeWait                  = 0x00000000
	pipeRejectRemoteClients   = 0x00000008
	pipeUnlimitedInstances    = 255
	securitySQOSPresent       = 0x00100000
	securityIdentification    = 0x00010000
	eventModifyState          = 0x0002
	synchronize               = 0x00100000
	fileMapAllAccess          = 0x000F001F
	pageReadWrite             = 0x04
	waitObject0               = 0
	waitTimeout               = 258
	waitFailed                = 0xFFFFFFFF

	errorPipeBusy         syscall.Errno = 231
	errorNoData           syscall.Errno = 232
	errorPipeNotConnected syscall.Errno = 233
	errorPipeConnected    syscall.Errno = 535
	errorCommitmentLimit  syscall.Errno = 1455
	errorNotEnoughMemory  syscall.Errno = 8
	errorDiskFull         syscall.Errno = 112
)

func wstr(s string) *uint16 {
	// Names are built in ASCII and widened byte by byte (windows.md).
	w := make([]uint16, len(s)+1)
	for i := 0; i < len(s); i++ {
		w[i] = uint16(s[i])
	}
	return &w[0]
}

func errnoOf(e error) syscall.Errno {
	if n, ok := e.(syscall.Errno); ok {
		return n
	}
	return 0
}

func createEvent(manual bool, name *uint16) (syscall.Handle, syscall.Errno) {
	m := uintptr(0)
	if manual {
		m = 1
	}
	h, _, e := procCreateEventW.Call(0, m, 0, uintptr(unsafe.Pointer(name)))
	return syscall.Handle(h), errnoOf(e)
}

// The calls on the data path use syscall.Syscall with the proc's address
// instead of LazyProc.Call, whose variadic arguments and boxed error
// allocate on every call.

func setEvent(h syscall.Handle) { syscall.Syscall(procSetEvent.Addr(), 1, uintptr(h), 0, 0) }

func resetEvent(h syscall.Handle) { syscall.Syscall(procResetEvent.Addr(), 1, uintptr(h), 0, 0) }

func getOverlappedResult(h syscall.Handle, ov *syscall.Overlapped, n *uint32, wait bool) syscall.Errno {
	w := uintptr(0)
	if wait {
		w = 1
	}
	r, _, e := syscall.Syscall6(procGetOverlappedResult.Addr(), 4, uintptr(h), uintptr(unsafe.Pointer(ov)),
		uintptr(unsafe.Pointer(n)), w, 0, 0)
	if r != 0 {
		return 0
	}
	if e != 0 {
		return e
	}
	return syscall.EINVAL
}

func waitMultiple(hs []syscall.Handle, ms uint32) uint32 {
	r, _, _ := procWaitForMultipleObjects.Call(uintptr(len(hs)), uintptr(unsafe.Pointer(&hs[0])), 0, uintptr(ms))
	return uint32(r)
}

func switchToThread() { syscall.Syscall(procSwitchToThread.Addr(), 0, 0, 0, 0) }
