package apis

import (
	"fmt"
	"strings"

	"github.com/antlr/antlr4/runtime/Go/antlr"
	"github.com/cloudevents/sdk-go/sql/v2/gen"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
)

// cesqlProblem returns why expr is not a valid CloudEvents SQL expression, or
// "" when it parses.
//
// sdk-go's parser.Parse panics on most syntax errors (its error listener
// dereferences a nil exception) and lets the lexer print to stderr, so the
// expression is first run through the same generated lexer and parser with a
// listener that keeps ANTLR's messages; parser.Parse then has the last word.
func cesqlProblem(expr string) (problem string) {
	defer func() {
		if r := recover(); r != nil {
			problem = "the expression cannot be parsed"
		}
	}()
	if msgs := cesqlSyntaxErrors(expr); len(msgs) > 0 {
		return "syntax error " + strings.Join(msgs, "; ")
	}
	if _, err := cesqlparser.Parse(expr); err != nil {
		return err.Error()
	}
	return ""
}

// cesqlErrorListener collects ANTLR syntax errors with their positions.
type cesqlErrorListener struct {
	*antlr.DefaultErrorListener
	multiline bool
	msgs      []string
}

func (l *cesqlErrorListener) SyntaxError(_ antlr.Recognizer, _ any, line, column int, msg string, _ antlr.RecognitionException) {
	if l.multiline {
		l.msgs = append(l.msgs, fmt.Sprintf("at line %d, column %d: %s", line, column+1, msg))
	} else {
		l.msgs = append(l.msgs, fmt.Sprintf("at column %d: %s", column+1, msg))
	}
}

func cesqlSyntaxErrors(expr string) []string {
	l := &cesqlErrorListener{DefaultErrorListener: antlr.NewDefaultErrorListener(), multiline: strings.Contains(expr, "\n")}
	lexer := gen.NewCESQLParserLexer(cesqlparser.NewCaseChangingStream(antlr.NewInputStream(expr), true))
	lexer.RemoveErrorListeners()
	lexer.AddErrorListener(l)
	p := gen.NewCESQLParserParser(antlr.NewCommonTokenStream(lexer, antlr.TokenDefaultChannel))
	p.RemoveErrorListeners()
	p.AddErrorListener(l)
	p.Cesql()
	return l.msgs
}
