#!/usr/bin/env bash
# What the GitHub Action (action.yml) runs: download the bulkdl release
# archive for this runner, check it against the release's checksums.txt,
# unpack it, and run `bulkdl run`. It runs under bash on Linux, macOS and
# Windows runners (Git Bash) and needs curl, tar (unzip or PowerShell on
# Windows) and one of sha256sum, shasum, PowerShell's Get-FileHash.
#
# Inputs come from the environment, as action.yml passes them:
#   INPUT_MANIFEST  the manifest to run (required)
#   INPUT_VERSION   a release such as 1.2.0 or v1.2.0, or latest; empty: the
#                   action's ref (ACTION_REF) when it is a full version (v1.2.0),
#                   else latest, which for a major ref (v1) must be of that major
#   INPUT_ARGS      flags for `bulkdl run`, split on white space
#   INPUT_REPORT    where to write the JSON report; empty for none
#   BULKDL_RELEASE_URL  where releases live (default the GitHub releases of
#                   bulkdl/bulkdl), laid out as BASE/download/vX.Y.Z/FILE and
#                   BASE/latest/download/FILE; tests point it at a loopback server
# Outputs (GITHUB_OUTPUT): report, version, bin. The binary's directory is
# added to GITHUB_PATH, so later steps can run `bulkdl verify`.
set -euo pipefail

die() {
	echo "::error::bulkdl action: $*" >&2
	exit 1
}

manifest=${INPUT_MANIFEST:-}
[ -n "$manifest" ] || die "the manifest input is required"
base=${BULKDL_RELEASE_URL:-https://github.com/bulkdl/bulkdl/releases}
base=${base%/}

version=${INPUT_VERSION:-} major=
if [ -z "$version" ]; then
	version=latest
	if [[ ${ACTION_REF:-} =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
		version=$ACTION_REF
	elif [[ ${ACTION_REF:-} =~ ^v([0-9]+)$ ]]; then
		major=${BASH_REMATCH[1]} # @v1: the latest release, if it is a 1.x
	fi
fi
version=${version#v}
[[ $version =~ ^(latest|[0-9A-Za-z.+-]+)$ ]] || die "version \"$version\": want a release such as 1.2.0, or latest"

runner_os=${RUNNER_OS:-$(uname -s)}
runner_arch=${RUNNER_ARCH:-$(uname -m)}
case $runner_os in
Linux) os=linux ;;
macOS | Darwin) os=darwin ;;
Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
FreeBSD) os=freebsd ;;
*) die "no bulkdl release for the runner's OS \"$runner_os\" (releases: Linux, macOS, Windows, FreeBSD)" ;;
esac
case $runner_arch in
X64 | x86_64 | amd64) arch=amd64 ;;
ARM64 | arm64 | aarch64) arch=arm64 ;;
*) die "no bulkdl release for the runner's architecture \"$runner_arch\" (releases: X64, ARM64)" ;;
esac
ext=tar.gz exe=bulkdl
if [ "$os" = windows ]; then
	ext=zip exe=bulkdl.exe
fi

if [ "$version" = latest ]; then
	url=$base/latest/download
else
	url=$base/download/v$version
fi
dir=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/bulkdl-action.XXXXXX")

fetch() {
	curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" ||
		die "could not download $1"
}

sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		powershell -NoProfile -Command "(Get-FileHash -Algorithm SHA256 -LiteralPath '$1').Hash.ToLower()" | tr -d '\r'
	fi
}

fetch "$url/checksums.txt" "$dir/checksums.txt"
line=$(grep -m 1 -E "^[0-9a-f]{64}  bulkdl_[0-9A-Za-z.+-]+_${os}_${arch}\.${ext}\$" "$dir/checksums.txt") ||
	die "bulkdl $version has no archive for $os/$arch (runner $runner_os/$runner_arch) in $url/checksums.txt"
want=${line%% *}
name=${line##* }
release=${name#bulkdl_}
release=${release%_"${os}"_"${arch}".*}
if [ -n "$major" ] && [ "${release%%.*}" != "$major" ]; then
	die "bulkdl/bulkdl@v$major: the latest release is $release, of another major version; set the version input to a $major.x release, or use bulkdl/bulkdl@v${release%%.*}"
fi
fetch "$url/$name" "$dir/$name"
got=$(sha256 "$dir/$name")
if [ "$got" != "$want" ]; then
	rm -f "$dir/$name"
	die "$name has sha256 $got but checksums.txt says $want: refusing to run it"
fi
echo "bulkdl action: $name matches checksums.txt (sha256 $got)"

mkdir "$dir/bin"
if [ "$ext" = zip ]; then
	if command -v unzip >/dev/null; then
		unzip -q "$dir/$name" -d "$dir/bin"
	else
		powershell -NoProfile -Command "Expand-Archive -LiteralPath '$dir/$name' -DestinationPath '$dir/bin'"
	fi
else
	tar -xzf "$dir/$name" -C "$dir/bin"
fi
bin=$dir/bin/$exe
[ -f "$bin" ] || die "$name holds no $exe"
chmod +x "$bin" 2>/dev/null || true
resolved=$("$bin" version) || die "$exe does not run on this runner"
resolved=${resolved%%$'\n'*}
resolved=${resolved#bulkdl }
echo "bulkdl action: bulkdl $resolved for $os/$arch"

report=${INPUT_REPORT:-}
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	{
		echo "report=$report"
		echo "version=$resolved"
		echo "bin=$bin"
	} >>"$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_PATH:-}" ]; then
	echo "$dir/bin" >>"$GITHUB_PATH"
fi

read -r -d "" -a flags <<<"${INPUT_ARGS:-}" || true # all lines, no globbing
cmd=("$bin" run)
if [ -n "$report" ]; then
	cmd+=(-report "$report")
fi
cmd+=(${flags[@]+"${flags[@]}"} "$manifest")
echo "bulkdl action: bulkdl run ${cmd[*]:2}"
exec "${cmd[@]}"
