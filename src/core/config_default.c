#include "core/config.h"

/* Keep in step with docs/config.md. Everything lives under ./var so that
 * `make run` needs no root and leaves nothing outside the checkout. */
const char config_default_text[] =
	"# postern embedded default configuration (postern serve without -c)\n"
	"hostname = \"localhost\";\n"
	"data_dir = \"./var\";\n"
	"user = \"\";   # for trying postern: keep the user who started it (a real server: \"postern\")\n"
	"listen = {\n"
	"  smtp = [\"127.0.0.1:2525\", \"[::1]:2525\"];\n"
	"  submission = [\"127.0.0.1:2587\"];\n"
	"  submissions = [\"127.0.0.1:2465\"];\n"
	"  imap = [\"127.0.0.1:2143\"];\n"
	"  imaps = [\"127.0.0.1:2993\"];\n"
	"  pop3 = [\"127.0.0.1:2110\"];\n"
	"  pop3s = [\"127.0.0.1:2995\"];\n"
	"};\n"
	"tls = { min_version = \"1.2\"; };\n"
	"limits = { message_size = \"25M\"; recipients = 100; };\n"
	"log = { level = \"info\"; };\n";
