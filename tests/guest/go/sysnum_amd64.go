// SPDX-License-Identifier: LGPL-2.1-or-later

// The userfaultfd(2) system call number, which Go's frozen syscall package
// does not list (arch/x86/entry/syscalls/syscall_64.tbl).
package main

const sysUserfaultfd = 323

// memfd_create(2), likewise.
const sysMemfdCreate = 319
