package app

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

func completionCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that completes keysync's commands and flags in SHELL. The
bash and zsh scripts ask keysync itself (--generate-bash-completion) at
each TAB; the fish script lists every command and flag.

Examples:
  source <(keysync completion bash)                              # this shell
  keysync completion bash > /etc/bash_completion.d/keysync
  keysync completion zsh > "${fpath[1]}/_keysync"
  keysync completion fish > ~/.config/fish/completions/keysync.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("completion: give one shell: bash, zsh or fish")
			}
			return writeCompletion(env.Stdout, c.App, c.Args().First())
		},
	}
}

// writeCompletion writes the completion script of shell. The bash and zsh
// scripts are urfave/cli's autocomplete scripts (which its module ships as
// files, not as Go), with the program name filled in.
func writeCompletion(w io.Writer, a *cli.App, shell string) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := a.ToFishCompletion()
		if err != nil {
			return fmt.Errorf("completion fish: %w", err)
		}
		script = s
	default:
		return usageErrorf("completion: %q is not bash, zsh or fish", shell)
	}
	_, err := io.WriteString(w, script)
	return err
}

func manCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print keysync's man page (roff)",
		Description: `Prints the man page of every command and flag, rendered by urfave/cli, in
roff for section 1.

Examples:
  keysync man | man -l -
  keysync man > /usr/local/share/man/man1/keysync.1`,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("man takes no arguments, got %q", c.Args().Slice())
			}
			page, err := c.App.ToManWithSection(1)
			if err != nil {
				return fmt.Errorf("man: render: %w", err)
			}
			_, err = io.WriteString(env.Stdout, page)
			return err
		},
	}
}

// bashCompletion is urfave/cli v2's autocomplete/bash_autocomplete for keysync.
const bashCompletion = `# bash completion for keysync: source <(keysync completion bash)

_keysync_init_completion() {
  COMPREPLY=()
  _get_comp_words_by_ref "$@" cur prev words cword
}

_keysync_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts base words
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if declare -F _init_completion >/dev/null 2>&1; then
      _init_completion -n "=:" || return
    else
      _keysync_init_completion -n "=:" || return
    fi
    words=("${words[@]:0:$cword}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} --generate-bash-completion"
    else
      requestComp="${words[*]} --generate-bash-completion"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
    return 0
  fi
}

complete -o bashdefault -o default -o nospace -F _keysync_bash_autocomplete keysync
`

// zshCompletion is urfave/cli v2's autocomplete/zsh_autocomplete for keysync.
const zshCompletion = `#compdef keysync
# zsh completion for keysync: keysync completion zsh > "${fpath[1]}/_keysync"

_keysync_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

compdef _keysync_zsh_autocomplete keysync
`
