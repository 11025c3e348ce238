package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rosterhq/roster/services/internal/console"
)

// roster console add-user: operator accounts of the console (rosterd
// --console-users FILE; docs/console.md, docs/adr/0095).
func newConsoleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "console", Short: "Manage the operator console's users file"}
	var usersFile string
	add := &cobra.Command{
		Use:   "add-user NAME --users-file FILE",
		Short: "Add a console user (or set a user's password); the password is read from the terminal or stdin, never argv",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if usersFile == "" {
				return errors.New("--users-file is required")
			}
			pw, err := readPassword(c)
			if err != nil {
				return err
			}
			old, err := os.ReadFile(usersFile)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			updated, err := console.AddUser(old, args[0], pw)
			if err != nil {
				return err
			}
			if err := writeFileAtomic(usersFile, updated); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "user %s set in %s (restart the console to load it)\n", args[0], usersFile)
			return nil
		},
	}
	add.Flags().StringVar(&usersFile, "users-file", os.Getenv("ROSTER_CONSOLE_USERS"), "the users file rosterd reads with --console-users ($ROSTER_CONSOLE_USERS)")
	cmd.AddCommand(add)
	return cmd
}

// readPassword asks twice without echo on a terminal; otherwise it reads
// one line of standard input (scripts: printf '%s\n' "$pw" | roster ...).
func readPassword(c *cobra.Command) (string, error) {
	if f, ok := c.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(c.ErrOrStderr(), prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(c.ErrOrStderr())
			return string(b), err
		}
		pw, err := ask("Password: ")
		if err != nil {
			return "", err
		}
		again, err := ask("Again: ")
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("the passwords differ")
		}
		return pw, nil
	}
	line, err := bufio.NewReader(io.LimitReader(c.InOrStdin(), 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin")
	}
	return pw, nil
}

// writeFileAtomic replaces path with data (mode 0600): a console starting
// meanwhile reads the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".users-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
