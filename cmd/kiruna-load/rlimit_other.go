//go:build !unix

package main

// raiseFileLimit does nothing here: there is no open-files limit to raise.
func raiseFileLimit() {}
