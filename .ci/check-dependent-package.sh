#!/usr/bin/env bash
# Checks that another package can depend on GraphJIT by URL and version, as users do.
#
# SwiftPM refuses a package reached that way whose product's targets use unsafe build flags
# (`.unsafeFlags`), and builds it with only the flags it chooses itself; a root-package
# `swift build` shows neither. So this script:
#   1. clones this repository's committed HEAD into a temporary folder and tags it there,
#   2. copies the consumer package Tests/DependentPackage/ beside it, pointing its
#      `.package(url:exact:)` at the clone and the tag,
#   3. builds and runs the consumer, which imports GraphJIT, predicts with a small model and checks
#      the result.
# Uncommitted changes to the library are not part of the check (the clone is of HEAD); the consumer
# package is taken from the work tree. Everything is removed on exit.
#
#   .ci/check-dependent-package.sh                   debug build (what a user's `swift build` does)
#   CONFIGURATION=release .ci/check-dependent-package.sh
#   KEEP_TEMP=1 ...                                  keep the temporary folder for a look
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && git rev-parse --show-toplevel)
CONFIGURATION=${CONFIGURATION:-debug}
# A plain semantic version, so that `exact:` (and `from:` in a user's manifest) accept it.
VERSION=${GRAPHJIT_CHECK_VERSION:-0.0.0-dependent-check}

source "$REPO/.ci/ensure-system-packages.sh"

TEMP=$(mktemp -d -t graphjit-dependent.XXXXXX)
cleanup() {
    if [ "${KEEP_TEMP:-0}" = 1 ]; then echo "dependent-package check: kept $TEMP"; else rm -rf "$TEMP"; fi
}
trap cleanup EXIT

fail() { echo "dependent-package check: FAILED: $*" >&2; exit 1; }

CLONE="$TEMP/GraphJIT"
CONSUMER="$TEMP/consumer"

# 1. A clone of the committed HEAD (detached, so that it works from any branch or a detached HEAD).
git clone -q --no-checkout "$REPO" "$CLONE"
git -C "$CLONE" fetch -q origin HEAD
git -C "$CLONE" -c advice.detachedHead=false checkout -q --detach FETCH_HEAD
git -C "$CLONE" tag -f "$VERSION" >/dev/null
COMMIT=$(git -C "$CLONE" rev-parse --short HEAD)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no -- Package.swift Sources runtime-c)" ]; then
    echo "dependent-package check: note: uncommitted changes in $REPO are not checked (HEAD $COMMIT is)"
fi

# 2. The consumer, pointed at the clone.
cp -R "$REPO/Tests/DependentPackage" "$CONSUMER"
rm -rf "$CONSUMER"/.build* "$CONSUMER/Package.resolved" "$CONSUMER/.swiftpm"
sed -i -e "s|@GRAPHJIT_URL@|file://$CLONE|g" -e "s|@GRAPHJIT_VERSION@|$VERSION|g" "$CONSUMER/Package.swift"
if grep -q '@GRAPHJIT_' "$CONSUMER/Package.swift"; then fail "placeholders left in the consumer's Package.swift"; fi

# 2b. Every Swift program in the README (a ```swift block that starts with `import`) becomes an
#     executable target of the consumer, compiled as pasted and run below.
README_EXAMPLES=()
awk -v dir="$CONSUMER/Sources" '
    /^```swift$/ { inside = 1; n++; lines = ""; next }
    /^```$/ && inside { inside = 0; if (lines ~ /^import /) { d = dir "/ReadmeExample" n; system("mkdir -p " d); printf "%s", lines > (d "/main.swift"); close(d "/main.swift") } next }
    inside { lines = lines $0 "\n" }
' "$REPO/README.md"
for folder in "$CONSUMER"/Sources/ReadmeExample*; do
    [ -d "$folder" ] || continue
    README_EXAMPLES+=("$(basename "$folder")")
done
[ ${#README_EXAMPLES[@]} -ge 4 ] || fail "found ${#README_EXAMPLES[@]} Swift programs in README.md, expected at least 4"
targets=""
for example in "${README_EXAMPLES[@]}"; do
    targets+="        .executableTarget(name: \"$example\", dependencies: [.product(name: \"GraphJIT\", package: \"GraphJIT\")]),\n"
done
sed -i "s|        // @README_EXAMPLES@.*|$targets|" "$CONSUMER/Package.swift"

# 3. Build and run. The scratch path and the dependency cache stay inside the temporary folder;
#    kernels the optimizing tier compiles go there too.
export GRAPHJIT_CACHE_DIR="$TEMP/kernel-cache"
SWIFTPM_ARGS=(--package-path "$CONSUMER" --scratch-path "$TEMP/build" --cache-path "$TEMP/swiftpm-cache"
              -c "$CONFIGURATION")

echo "dependent-package check: GraphJIT $COMMIT tagged $VERSION, consumer built $CONFIGURATION"
start=$SECONDS
swift build "${SWIFTPM_ARGS[@]}" || fail "the consumer package did not build against GraphJIT $COMMIT"
echo "dependent-package check: built in $((SECONDS - start)) s"

BIN=$(swift build "${SWIFTPM_ARGS[@]}" --show-bin-path)
"$BIN/DependentCheck" || fail "the consumer ran but its checks failed (exit $?)"

# The README's programs, each in a folder holding the Keras file one of them opens ("cnn.keras":
# the small tutorial CNN Keras saved, from the fixtures).
for example in "${README_EXAMPLES[@]}"; do
    run="$TEMP/run-$example"
    mkdir -p "$run"
    cp "$REPO/Tests/GraphJITTests/Fixtures/KerasFiles/cnn_sequential.keras" "$run/cnn.keras"
    (cd "$run" && "$BIN/$example" >"$run/output.txt" 2>&1) || { cat "$run/output.txt" >&2; fail "README example $example failed"; }
    echo "dependent-package check: README $example ran ($(wc -l <"$run/output.txt") lines of output)"
done

echo "dependent-package check: PASSED (GraphJIT $COMMIT as a versioned dependency, $CONFIGURATION build)"
