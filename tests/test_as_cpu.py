"""benchmarks/as_cpu.py: a command run under a CPU profile sees the profile's features, and
rhetoric's `auto` chooses as it would on that CPU. Skipped where the CPU or kernel has no
CPUID faulting, or there is no C compiler."""

from __future__ import annotations

import importlib.util
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("as_cpu", ROOT / "benchmarks" / "as_cpu.py")
as_cpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(as_cpu)

CPU_FLAGS = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""


@pytest.fixture(scope="module")
def cpuid_faulting() -> None:
    """Skip where the CPU, the kernel or the hypervisor gives no CPUID faulting (the flag may
    show and the call still fail), or there is no C compiler."""
    if not re.search(r"\bcpuid_fault\b", CPU_FLAGS) or shutil.which("cc") is None:
        pytest.skip("needs Linux CPUID faulting (cpuid_fault) and a C compiler")
    tried = run_as("avx2", "true")
    if tried.returncode == 2 and re.search("no CPUID faulting|could not build", tried.stderr):
        pytest.skip(tried.stderr.strip())


needs_cpuid_faulting = pytest.mark.usefixtures("cpuid_faulting")

SEEN = (
    "from rhetoric.encoders.embedding import choose_backend, cpu_flags, rest_precision; "
    "import openvino; "
    "print(choose_backend('auto', 'cpu'), rest_precision(), "
    "'+'.join(openvino.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')), "
    "'avx512f' in cpu_flags().split())"
)


def run_as(profile: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "as_cpu.py"), profile, "--", *command],
        capture_output=True,
        text=True,
        timeout=300,
        # the crash test leaves no core file
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)),
    )


def test_only_the_profiles_flags_leave_cpuinfo() -> None:
    cpuinfo = "processor\t: 0\nflags\t\t: sse avx2 avx512f avx512_vnni avx512_bf16 amx_tile\nbugs\t: x\n"
    no_bf16 = as_cpu.without_flags(cpuinfo, as_cpu.BF16_FLAGS)
    avx2 = as_cpu.without_flags(cpuinfo, as_cpu.AVX512_FLAGS)
    assert "flags\t\t: sse avx2 avx512f avx512_vnni\n" in no_bf16
    assert "flags\t\t: sse avx2\n" in avx2
    assert no_bf16.startswith("processor\t: 0\n") and no_bf16.endswith("bugs\t: x\n")


@needs_cpuid_faulting
def test_a_cpu_without_bf16_gets_int8_static_in_f32() -> None:
    if not re.search(r"\bavx512_vnni\b", CPU_FLAGS):
        pytest.skip("this CPU has no AVX512-VNNI to keep")
    result = run_as("vnni-no-bf16", sys.executable, "-c", SEEN)
    assert result.returncode == 0, result.stderr
    backend, precision, capabilities, avx512 = result.stdout.splitlines()[-1].split()
    assert (backend, precision, avx512) == ("int8-static", "f32", "True")
    assert "BF16" not in capabilities.split("+") and "INT8" in capabilities.split("+")


@needs_cpuid_faulting
def test_an_avx2_cpu_gets_fp32_and_openvino_sees_no_avx512() -> None:
    result = run_as("avx2", sys.executable, "-c", SEEN)
    assert result.returncode == 0, result.stderr
    backend, precision, _, avx512 = result.stdout.splitlines()[-1].split()
    assert (backend, precision, avx512) == ("fp32", "f32", "False")
    assert "torch CPU capability: AVX2" in result.stdout


@needs_cpuid_faulting
def test_a_real_segmentation_fault_still_reaches_python_faulthandler() -> None:
    """The preload's SIGSEGV handler answers CPUID only; any other fault goes to the handler
    the program installed (here Python's faulthandler), so a crash is reported, not hidden."""
    crash = "import ctypes; ctypes.string_at(0)"
    result = run_as("vnni-no-bf16", sys.executable, "-X", "faulthandler", "-c", crash)
    assert result.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in result.stderr


@needs_cpuid_faulting
def test_a_program_that_blocks_or_handles_sigsegv_still_gets_answers() -> None:
    """Python code that installs its own SIGSEGV handler, or blocks SIGSEGV, and then has a
    library read CPUID (numpy at import) runs as usual: the handler is not called for the
    CPUID and the blocked signal does not kill the process."""
    program = (
        "import signal; "
        "signal.signal(signal.SIGSEGV, lambda *_: print('handler called')); "
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGSEGV}); "
        "import numpy; print('imported', numpy.__name__)"
    )
    result = run_as("avx2", sys.executable, "-c", program)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "imported numpy"
    assert "handler called" not in result.stdout
