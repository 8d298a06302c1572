//go:build !linux

package main

import (
	"net"
	"time"
)

// stampedConn would read with the kernel's receive times; only Linux has
// them here.
type stampedConn struct {
	net.Conn
	last time.Time
}

func stamp(net.Conn) *stampedConn { return nil }

func (*stampedConn) received() time.Time { return time.Time{} }
