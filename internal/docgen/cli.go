package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// The command reference comes from the quiver binary itself: its cobra
// help output lists the commands, and each command's help its flags. The
// CLI is a main package, so reading the help is the one way to stay in
// step with it without a hidden command.

// A command is one quiver command as its help describes it.
type command struct {
	Path  string   // e.g. "quiver sync"
	Short string   // the first paragraph of the help
	Usage []string // the Usage lines, e.g. "quiver sync -c FILE [flags]"
	Flags []cliFlag
	Subs  []string // names of the subcommands
}

// A cliFlag is one flag of a command.
type cliFlag struct {
	Short   string // one letter, or ""
	Name    string // without dashes
	Type    string // "string", "strings", "float", ...; "" for booleans
	Default string // as the help shows it, quotes included; "" if none
	Usage   string
}

// skipCommands are cobra's own commands, which need no reference.
var skipCommands = map[string]bool{"help": true, "completion": true}

// readCLI runs bin --help and the help of every subcommand, depth first.
// The global flags are the root's; each command lists only its own.
func readCLI(ctx context.Context, bin string) (root *command, cmds []*command, err error) {
	var walk func(args []string) error
	walk = func(args []string) error {
		out, err := exec.CommandContext(ctx, bin, append(append([]string{}, args...), "--help")...).Output()
		if err != nil {
			return fmt.Errorf("%s %s --help: %w", bin, strings.Join(args, " "), err)
		}
		c, err := parseHelp(string(out))
		if err != nil {
			return fmt.Errorf("%s %s --help: %w", bin, strings.Join(args, " "), err)
		}
		c.Path = strings.TrimSpace("quiver " + strings.Join(args, " "))
		if len(args) == 0 {
			root = c
		} else {
			cmds = append(cmds, c)
		}
		for _, s := range c.Subs {
			if err := walk(append(append([]string{}, args...), s)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(nil); err != nil {
		return nil, nil, err
	}
	return root, cmds, nil
}

var (
	// flagLine matches a pflag usage line: "  -c, --config string   config file (default "x")".
	flagLine = regexp.MustCompile(`^\s+(?:-(\w), )?--([\w-]+)(?: ([\w.\[\]=]+))?\s{2,}(.*)$`)
	// defaultSuffix is pflag's default annotation at the end of a usage.
	defaultSuffix = regexp.MustCompile(`\s\(default (.*)\)$`)
	// commandLine matches an entry of a command list: "  sync        Read every ...".
	commandLine = regexp.MustCompile(`^\s+([\w-]+)\s{2,}(.*)$`)
)

// parseHelp reads cobra's default help text. Local flags are kept and
// "Global Flags" dropped; --help itself is dropped too.
func parseHelp(text string) (*command, error) {
	c := &command{}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	i := 0
	for ; i < len(lines) && lines[i] != "Usage:"; i++ {
		if l := strings.TrimSpace(lines[i]); l != "" && c.Short == "" {
			c.Short = l
		}
	}
	if i == len(lines) {
		return nil, fmt.Errorf("help has no Usage section")
	}
	section := ""
	for ; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.TrimSpace(l) == "":
			continue
		case !strings.HasPrefix(l, " ") && strings.HasSuffix(l, ":"):
			section = strings.TrimSuffix(l, ":")
			continue
		case !strings.HasPrefix(l, " "):
			section = "" // trailing notes such as `Use "quiver [command] --help" ...`
			continue
		}
		switch {
		case section == "Usage":
			c.Usage = append(c.Usage, strings.TrimSpace(l))
		case section == "Flags":
			if m := flagLine.FindStringSubmatch(l); m != nil {
				f := cliFlag{Short: m[1], Name: m[2], Type: m[3], Usage: m[4]}
				if d := defaultSuffix.FindStringSubmatch(f.Usage); d != nil {
					f.Default, f.Usage = d[1], strings.TrimSpace(f.Usage[:len(f.Usage)-len(d[0])])
				}
				if f.Name != "help" {
					c.Flags = append(c.Flags, f)
				}
				continue
			}
			if n := len(c.Flags); n > 0 && strings.TrimSpace(l) != "" {
				c.Flags[n-1].Usage += " " + strings.TrimSpace(l) // a usage with a newline
				continue
			}
			return nil, fmt.Errorf("cannot read flag line %q", l)
		case section == "Global Flags", section == "Aliases", section == "Examples":
		case section != "":
			// "Available Commands", "Additional Commands" or a command group.
			m := commandLine.FindStringSubmatch(l)
			if m == nil {
				return nil, fmt.Errorf("cannot read command line %q in %s", l, section)
			}
			if !skipCommands[m[1]] {
				c.Subs = append(c.Subs, m[1])
			}
		}
	}
	if len(c.Usage) == 0 {
		return nil, fmt.Errorf("help has an empty Usage section")
	}
	return c, nil
}

// buildQuiver builds the quiver command into dir and returns its path.
func buildQuiver(ctx context.Context, root, dir string) (string, error) {
	bin := dir + "/quiver"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./host/cmd/quiver")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./host/cmd/quiver: %w\n%s", err, stderr.Bytes())
	}
	return bin, nil
}
