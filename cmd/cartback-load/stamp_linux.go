package main

import (
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// stampedConn reads a TCP connection with recvmsg and keeps the kernel's
// receive time of the data it last returned (SO_TIMESTAMPNS): when the
// answer reached this machine's socket, before this process's own
// goroutines were scheduled to read it.
type stampedConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	oob  []byte
	last time.Time
}

// stamp returns nc reading with receive times, or nil where the socket
// does not give them.
func stamp(nc net.Conn) *stampedConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return nil
	}
	return &stampedConn{TCPConn: tc, raw: raw, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}
}

// Read reads like net.Conn's Read, noting the receive time.
func (s *stampedConn) Read(p []byte) (int, error) {
	var n, oobn int
	var rerr error
	err := s.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, s.oob, 0)
		return rerr != syscall.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	if msgs, err := syscall.ParseSocketControlMessage(s.oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
				ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
				s.last = time.Unix(ts.Unix())
			}
		}
	}
	return n, nil
}

// received is the receive time of the data last read; zero if unknown.
func (s *stampedConn) received() time.Time { return s.last }
