// SPDX-License-Identifier: LGPL-2.1-or-later

// Every kind of memory a client watches, from Go through raw system calls:
// shared anonymous, memfd, hugetlb and THP (private anonymous is the rest
// of the program).  Each is registered, protected with UFFDIO_WRITEPROTECT
// as Wine does, and checked for exact written pages through a read,
// writes, a get-and-reset and one more write.
package main

import (
	"syscall"
	"unsafe"
)

const (
	mapHugetlb   = 0x40000
	madvHugepage = 14
	mfdCloexec   = 1
	hugeSize     = 2 << 20
)

// mapKind maps n pages of @kind; ok is false (and says why) when the
// kind cannot be had here.
func mapKind(kind string, n int) (mem []byte, addr uintptr, ok bool) {
	flags := uintptr(syscall.MAP_PRIVATE | syscall.MAP_ANONYMOUS)
	fd := ^uintptr(0)
	length := uintptr(n * page)
	switch kind {
	case "shared anonymous":
		flags = syscall.MAP_SHARED | syscall.MAP_ANONYMOUS
	case "memfd":
		if sysMemfdCreate < 0 {
			return nil, 0, false
		}
		name := []byte("wwatch-go\x00")
		r, _, e := syscall.Syscall(uintptr(sysMemfdCreate),
			uintptr(unsafe.Pointer(&name[0])), mfdCloexec, 0)
		if !check(e == 0, "memfd_create: %v", e) {
			return nil, 0, false
		}
		if err := syscall.Ftruncate(int(r), int64(length)); !check(err == nil, "ftruncate: %v", err) {
			return nil, 0, false
		}
		flags, fd = syscall.MAP_SHARED, r
	case "hugetlb":
		flags |= mapHugetlb
	case "THP":
		length *= 2 // room to align to a huge page
	}
	a, _, e := syscall.Syscall6(syscall.SYS_MMAP, 0, length,
		syscall.PROT_READ|syscall.PROT_WRITE, flags, fd, 0)
	if e != 0 {
		check(kind == "hugetlb", "mmap %s: %v", kind, e)
		return nil, 0, false
	}
	if kind == "THP" {
		a = (a + hugeSize - 1) &^ (hugeSize - 1)
		syscall.Syscall(syscall.SYS_MADVISE, a, uintptr(n*page), madvHugepage)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(a)), n*page), a, true
}

func pageRange(from, to int) []int {
	var r []int
	for p := from; p < to; p++ {
		r = append(r, p)
	}
	return r
}

func testKinds() {
	for _, kind := range []string{"shared anonymous", "memfd", "hugetlb", "THP"} {
		n, populate := 64, kind == "memfd"
		first, second := []int{3, 10, 40}, []int{5}
		if kind == "hugetlb" || kind == "THP" {
			n, populate = 1024, true
		}
		if kind == "THP" {
			n = 512
		}
		mem, addr, ok := mapKind(kind, n)
		if !ok {
			if kind == "hugetlb" {
				xfails++ // no huge pages reserved: said above
			}
			continue
		}
		if populate {
			for i := range mem {
				mem[i] = 0x22
			}
		}
		if e := register(addr, n); !check(e == 0, "%s: UFFDIO_REGISTER: %v", kind, e) {
			continue
		}
		if e := writeProtect(addr, n); !check(e == 0, "%s: UFFDIO_WRITEPROTECT: %v", kind, e) {
			continue
		}
		expectWritten(kind+": after protect", addr, n, false)
		sink += mem[7*page]
		expectWritten(kind+": after a read", addr, n, false)
		want := first
		if kind == "hugetlb" {
			mem[600*page] = 1 // the second huge page, written whole
			want = pageRange(512, 1024)
		} else {
			for _, p := range first {
				mem[p*page+17] = 1
			}
		}
		expectWritten(kind+": after writes", addr, n, false, want...)
		expectWritten(kind+": get-and-reset", addr, n, true, want...)
		expectWritten(kind+": after reset", addr, n, false)
		mem[second[0]*page] = 2
		want = second
		if kind == "hugetlb" {
			want = pageRange(0, 512)
		}
		expectWritten(kind+": after one more write", addr, n, false, want...)
	}
}
