//go:build !unix

package simulator

const noFollow = 0
