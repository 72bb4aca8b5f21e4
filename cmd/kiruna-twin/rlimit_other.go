//go:build !unix

package main

// openFilesLimit is unknown here.
func openFilesLimit() int { return 0 }
