package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// completionCmd prints a completion script. The commands and their flags
// come from the commands' own help, so the script follows the binary.
func completionCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("completion", stderr)
	if len(args) == 1 && !isHelp(args[0]) {
		switch args[0] {
		case "bash":
			writeBash(stdout, completionSpecs())
		case "zsh":
			writeZsh(stdout, completionSpecs())
		case "fish":
			writeFish(stdout, completionSpecs())
		default:
			fmt.Fprintf(stderr, "connectord completion: unknown shell %q: use bash, zsh or fish\n", args[0])
			return exitUsage
		}
		return exitOK
	}
	if code, ok := parse(fs, stdout, args); !ok {
		return code
	}
	usageHint(fs)
	return exitUsage
}

type flagSpec struct {
	name, usage string
	value       bool // takes a value (not a boolean flag)
	path        bool // takes a file or directory
}

type commandSpec struct {
	name, summary string
	words         []string // subcommands or arguments (dlq list, simulate intercom)
	flags         []flagSpec
}

// subwords are the words a command takes before its flags.
var subwords = map[string][]string{
	"dlq":        {"list", "show", "replay", "purge", "purge-queue"},
	"simulate":   {"intercom"},
	"auth":       {"intercom"},
	"completion": {"bash", "zsh", "fish"},
}

// pathFlags take a file or directory.
var pathFlags = map[string]bool{"config": true, "data": true, "testdata": true, "out": true}

func completionSpecs() []commandSpec {
	var out []commandSpec
	for _, c := range commands() {
		spec := commandSpec{name: c.name, summary: c.summary, words: subwords[c.name], flags: flagsOf(c)}
		out = append(out, spec)
	}
	help := commandSpec{name: "help", summary: "show a command's help"}
	for _, c := range commands() {
		help.words = append(help.words, c.name)
	}
	return append(out, help)
}

// flagsOf reads a command's flags from its help text.
func flagsOf(c command) []flagSpec {
	var b bytes.Buffer
	c.run([]string{"--help"}, &b, io.Discard)
	var out []flagSpec
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		// flag.PrintDefaults: "  -name type" then the usage on the next
		// line, or "  -x\tusage" for a one-letter name; a boolean has no type.
		head, usage, oneLine := strings.Cut(strings.TrimPrefix(line, "  -"), "\t")
		fields := strings.Fields(head)
		if !oneLine && sc.Scan() {
			usage = sc.Text()
		}
		out = append(out, flagSpec{name: fields[0], usage: strings.TrimSpace(usage), value: len(fields) > 1, path: pathFlags[fields[0]]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func writeBash(w io.Writer, specs []commandSpec) {
	var names []string
	for _, s := range specs {
		names = append(names, s.name)
	}
	fmt.Fprintf(w, `# bash completion for connectord: source it, or put it in /etc/bash_completion.d/
_connectord() {
    local cur prev cmd words opts
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W "%s --help --version" -- "$cur") )
        return
    fi
    cmd="${COMP_WORDS[1]}"
    case "$prev" in
        --config|-config|--data|-data|--testdata|-testdata|--out|-out)
            COMPREPLY=( $(compgen -f -- "$cur") )
            return ;;
    esac
    case "$cmd" in
`, strings.Join(names, " "))
	for _, s := range specs {
		var flags []string
		for _, f := range s.flags {
			flags = append(flags, "--"+f.name)
		}
		fmt.Fprintf(w, "        %s) words=%q; opts=%q ;;\n", s.name, strings.Join(s.words, " "), strings.Join(append(flags, "--help"), " "))
	}
	fmt.Fprint(w, `        *) words=""; opts="--help" ;;
    esac
    if [ "$COMP_CWORD" -eq 2 ] && [ -n "$words" ] && [[ "$cur" != -* ]]; then
        COMPREPLY=( $(compgen -W "$words" -- "$cur") )
        return
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
        return
    fi
    COMPREPLY=( $(compgen -f -- "$cur") )
}
complete -F _connectord connectord
`)
}

func writeZsh(w io.Writer, specs []commandSpec) {
	fmt.Fprint(w, "#compdef connectord\n# zsh completion for connectord: put it on $fpath as _connectord\n_connectord() {\n    local -a cmds\n    cmds=(\n")
	for _, s := range specs {
		fmt.Fprintf(w, "        %s\n", zshQuote(s.name+":"+s.summary))
	}
	fmt.Fprint(w, "    )\n    if (( CURRENT == 2 )); then\n        _describe 'command' cmds\n        return\n    fi\n    case $words[2] in\n")
	for _, s := range specs {
		fmt.Fprintf(w, "        %s)\n", s.name)
		if len(s.words) > 0 {
			fmt.Fprintf(w, "            if (( CURRENT == 3 )); then compadd -- %s; return; fi\n", strings.Join(s.words, " "))
		}
		fmt.Fprint(w, "            _arguments -s")
		for _, f := range s.flags {
			action := ""
			if f.path {
				action = ":" + f.name + ":_files"
			} else if f.value {
				action = ":" + f.name + ": "
			}
			fmt.Fprintf(w, " \\\n                %s", zshQuote("--"+f.name+"["+zshEscape(f.usage)+"]"+action))
		}
		fmt.Fprint(w, " \\\n                '*:file:_files'\n            ;;\n")
	}
	fmt.Fprint(w, "    esac\n}\ncompdef _connectord connectord 2>/dev/null || _connectord \"$@\"\n")
}

func writeFish(w io.Writer, specs []commandSpec) {
	fmt.Fprint(w, "# fish completion for connectord: put it in ~/.config/fish/completions/connectord.fish\ncomplete -c connectord -f\n")
	fmt.Fprintln(w, "complete -c connectord -l version -d 'print the version' -n '__fish_use_subcommand'")
	for _, s := range specs {
		fmt.Fprintf(w, "complete -c connectord -n '__fish_use_subcommand' -a %s -d %s\n", s.name, fishQuote(s.summary))
		if len(s.words) > 0 {
			fmt.Fprintf(w, "complete -c connectord -n '__fish_seen_subcommand_from %s' -a %s\n", s.name, fishQuote(strings.Join(s.words, " ")))
		}
		for _, f := range s.flags {
			extra := ""
			switch {
			case f.path:
				extra = " -r -F"
			case f.value:
				extra = " -r"
			}
			fmt.Fprintf(w, "complete -c connectord -n '__fish_seen_subcommand_from %s' -l %s -d %s%s\n", s.name, f.name, fishQuote(f.usage), extra)
		}
	}
}

func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
func zshEscape(s string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
