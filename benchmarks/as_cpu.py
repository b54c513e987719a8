"""Run a command as if on a CPU without some of this one's features (issue 13).

    python benchmarks/as_cpu.py vnni-no-bf16 -- python benchmarks/bench.py --throughput-only ...
    python benchmarks/as_cpu.py avx2 -- dvc repro

Profiles:
- `vnni-no-bf16`: AVX-512 with VNNI, no AVX512-BF16, AMX or AVX512-FP16: the issue's Intel
  Xeon (Cascade Lake / Ice Lake class);
- `avx2`: no AVX-512 or VNNI of any kind: the AVX2-only machines of sessions 3-8.

Why: `auto` picks a backend per CPU, and these benchmarks ran on whatever CPU a session got.
To measure a CPU we do not have, hide the missing features from the command and everything
it starts: `as_cpu/hide_cpu_features.c` (built here with the system C compiler, loaded with
LD_PRELOAD) makes the CPUID instruction report them absent, as OpenVINO's oneDNN,
onnxruntime, torch and numpy read it, and serves /proc/cpuinfo without their flags, as
rhetoric's `embedding.cpu_flags` reads it. It needs Linux's CPUID faulting (flag
`cpuid_fault`, which KVM guests on recent hosts have); without it the command is refused.

What it is not: another CPU. The kernels chosen are the ones a CPU without the features
would run, on this CPU's cores, caches and clock, and the vendor is still this one's (MKL
and oneDNN choose partly by vendor); a real Intel Xeon differs in those. glibc's string
functions are chosen before the preload loads (GLIBC_TUNABLES hides AVX-512 from them for
`avx2`). Before the command, a probe prints what OpenVINO, torch and rhetoric see, and the
run is refused if bf16 (`vnni-no-bf16`) or AVX-512 and VNNI (`avx2`) still show, or if
`vnni-no-bf16` finds no VNNI to keep. Each answered CPUID costs a trap (about 40 µs); the
count is printed at the end (a few hundred, at start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "as_cpu" / "hide_cpu_features.c"

# CPUID leaf 7 feature bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3): leaf.subleaf.register=bits
BF16_AND_AMX = {
    "7.0.d": sum(1 << bit for bit in (22, 23, 24, 25)),  # AMX-BF16 AVX512-FP16 AMX-TILE AMX-INT8
    "7.1.a": (1 << 5) | (1 << 21),  # AVX512-BF16 AMX-FP16
    "7.1.d": sum(1 << bit for bit in (5, 8, 19)),  # AVX-NE-CONVERT AMX-COMPLEX AVX10
}
AVX512_AND_VNNI = {
    "7.0.b": sum(1 << bit for bit in (16, 17, 21, 26, 27, 28, 30, 31)),  # F DQ IFMA PF ER CD BW VL
    "7.0.c": sum(1 << bit for bit in (1, 6, 11, 12, 14)),  # VBMI VBMI2 VNNI BITALG VPOPCNTDQ
    "7.0.d": sum(1 << bit for bit in (2, 3, 8, 22, 23, 24, 25)),  # 4VNNIW 4FMAPS VP2INTERSECT FP16 AMX
    "7.1.a": sum(1 << bit for bit in (4, 5, 21, 23)),  # AVX-VNNI AVX512-BF16 AMX-FP16 AVX-IFMA
    "7.1.d": sum(1 << bit for bit in (4, 5, 8, 10, 19)),  # AVX-VNNI-INT8 -NE-CONVERT AMX-COMPLEX -INT16 AVX10
}
# /proc/cpuinfo's names for the same features
BF16_FLAGS = re.compile(r"^(avx512_bf16|avx512_fp16|amx_\w+|avx_ne_convert|avx10\w*)$")
AVX512_FLAGS = re.compile(r"^(avx512\w*|avx_vnni\w*|amx_\w+|avx_ifma|avx_ne_convert|avx10\w*)$")
# glibc picks its string functions in the dynamic loader, before the preload can hide anything
GLIBC_AVX2 = "glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL,-AVX512ER,-AVX512PF"
PROFILES = {
    "vnni-no-bf16": (BF16_AND_AMX, BF16_FLAGS, ""),
    "avx2": (AVX512_AND_VNNI, AVX512_FLAGS, GLIBC_AVX2),
}
# What the libraries see under the preload, as one JSON line
PROBE = (
    "import json, openvino, torch; from rhetoric.encoders import embedding as e; "
    "print(json.dumps({'openvino': openvino.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES'), "
    "'torch': torch.backends.cpu.get_cpu_capability(), 'bf16': e.cpu_supports_bf16(), "
    "'int8_dot': e.cpu_supports_int8_dot(), 'rest': e.rest_precision()}))"
)


def refuse(message: str) -> None:
    """One line on stderr and exit status 2, as rhetoric's own commands refuse."""
    print(message, file=sys.stderr)
    sys.exit(2)


def masks_spec(masks: dict[str, int]) -> str:
    """AS_CPU_MASKS for hide_cpu_features.c.

    >>> masks_spec({"7.1.a": 32})
    '7.1.a=20'
    """
    return ",".join(f"{key}={bits:x}" for key, bits in masks.items())


def without_flags(cpuinfo: str, hidden: re.Pattern[str]) -> str:
    """/proc/cpuinfo with the hidden flags left out of every `flags` line.

    >>> without_flags("flags\\t\\t: avx2 avx512_bf16 sse\\n", PROFILES["vnni-no-bf16"][1])
    'flags\\t\\t: avx2 sse\\n'
    """

    def keep(line: re.Match[str]) -> str:
        return line.group(1) + " ".join(f for f in line.group(2).split() if not hidden.match(f))

    return re.sub(r"^(flags\s*:\s*)(.*)$", keep, cpuinfo, flags=re.MULTILINE)


def prepared_environment(profile: str, work: Path) -> dict[str, str]:
    """Build the preload library into `work`, write the filtered /proc/cpuinfo there, and
    return the environment that hides `profile`'s features."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    if not re.search(r"\bcpuid_fault\b", cpuinfo):
        refuse("as_cpu.py: this CPU or kernel has no CPUID faulting (cpuid_fault flag); use another machine.")
    library = work / "hide_cpu_features.so"
    build = ["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(SOURCE), "-ldl"]
    try:
        built = subprocess.run(build, capture_output=True, text=True)
    except FileNotFoundError:
        refuse("as_cpu.py: could not build the preload: no C compiler `cc`; install gcc.")
    if built.returncode != 0:
        refuse(f"as_cpu.py: could not build the preload: {built.stderr.strip().splitlines()[-1:]}")
    masks, hidden, glibc = PROFILES[profile]
    (work / "cpuinfo").write_text(without_flags(cpuinfo, hidden))
    preload = " ".join(filter(None, [str(library), os.environ.get("LD_PRELOAD", "")]))
    return {
        **os.environ,
        "LD_PRELOAD": preload,
        "AS_CPU_MASKS": masks_spec(masks),
        "AS_CPU_CPUINFO": str(work / "cpuinfo"),
        "AS_CPU_STATS": str(work / "stats"),
        "AS_CPU_PROFILE": profile,
        **({"GLIBC_TUNABLES": glibc} if glibc else {}),
    }


def answered(stats: Path) -> tuple[int, int]:
    """CPUIDs the preload answered, and the processes that reported them at exit."""
    rows = [line.split() for line in stats.read_text().splitlines()] if stats.is_file() else []
    return sum(int(count) for _, count in rows), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", choices=sorted(PROFILES))
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    with tempfile.TemporaryDirectory(prefix="as-cpu-") as work:
        env = prepared_environment(args.profile, Path(work))
        probe_env = {key: value for key, value in env.items() if key != "AS_CPU_STATS"}  # count the command
        probed = subprocess.run([sys.executable, "-c", PROBE], env=probe_env, capture_output=True, text=True)
        if probed.returncode != 0:
            refuse(f"as_cpu.py: the probe failed under {args.profile}: {probed.stderr.strip()}")
        seen = json.loads(probed.stdout.splitlines()[-1])
        print("OpenVINO CPU capabilities:", " ".join(seen["openvino"]))
        print("torch CPU capability:", seen["torch"])
        rest = seen["rest"]
        print(
            f"rhetoric sees: bf16 {seen['bf16']} | int8 dot {seen['int8_dot']} | int8-static rest in {rest}"
        )
        sys.stdout.flush()
        if args.profile == "vnni-no-bf16" and (
            seen["bf16"] or "BF16" in seen["openvino"] or not seen["int8_dot"]
        ):
            refuse(
                "as_cpu.py: vnni-no-bf16 needs a CPU with AVX512-VNNI whose bf16 the preload hides; not here."
            )
        if args.profile == "avx2" and (seen["torch"].startswith("AVX512") or seen["int8_dot"]):
            refuse("as_cpu.py: AVX-512 or VNNI still shows; the preload did not take effect.")
        code = subprocess.run(command, env=env).returncode
        count, processes = answered(Path(work) / "stats")
        print(f"as_cpu.py: {count} CPUID instructions answered in {processes} process(es)", file=sys.stderr)
    if code < 0:  # the command died of a signal: so does this launcher, as a shell reports it
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
