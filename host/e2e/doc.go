// Package e2e holds Quiver's end-to-end tests: they build the quiver host
// and the connector plugins once, run `quiver` as a user would against the
// loopback vendor simulators, and read the written files back.
package e2e
