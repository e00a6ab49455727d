package netipc_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	netipc "github.com/netdata/netipc/go"
)

func TestErrors(t *testing.T) {
	cases := []struct {
		err  error
		code netipc.Code
		name string
	}{
		{netipc.ErrTimeout, netipc.ErrTimeout, "TIMEOUT"},
		{&netipc.Error{Op: "connect", Code: netipc.ErrNotFound, Err: syscall.ENOENT}, netipc.ErrNotFound, "NOT_FOUND"},
		{fmt.Errorf("wrapped: %w", &netipc.Error{Code: netipc.ErrRemoteInternal, Status: 6}), netipc.ErrRemoteInternal, "REMOTE_INTERNAL"},
		{errors.New("other"), netipc.ErrIO, "IO"},
		{nil, netipc.OK, "OK"},
	}
	for _, tc := range cases {
		if got := netipc.CodeOf(tc.err); got != tc.code || got.Name() != tc.name {
			t.Fatalf("%v: code %v (%s)", tc.err, got, got.Name())
		}
		if tc.err != nil && tc.code != netipc.ErrIO && !errors.Is(tc.err, tc.code) {
			t.Fatalf("errors.Is(%v, %v)", tc.err, tc.code)
		}
	}
	e := &netipc.Error{Op: "connect", Code: netipc.ErrNotFound, Err: syscall.ENOENT}
	if !errors.Is(e, syscall.ENOENT) || errors.Is(e, netipc.ErrTimeout) {
		t.Fatal("unwrap to the OS error")
	}
	var ne *netipc.Error
	if !errors.As(cases[2].err, &ne) || ne.Status != 6 {
		t.Fatal("the protocol status is carried")
	}
	if netipc.ErrGenerationChanged.Name() != "GENERATION_CHANGED" || int(netipc.ErrGenerationChanged) != 53 {
		t.Fatal("the numbering follows the C library")
	}
}
