// SPDX-License-Identifier: LGPL-2.1-or-later

//go:build !amd64 && !arm64

// Architectures whose userfaultfd(2) number is not written down here: the
// program skips.
package main

const sysUserfaultfd = -1

const sysMemfdCreate = -1
