// SPDX-License-Identifier: LGPL-2.1-or-later

// The userfaultfd(2) system call number (include/uapi/asm-generic/unistd.h).
package main

const sysUserfaultfd = 282

// memfd_create(2), likewise.
const sysMemfdCreate = 279
