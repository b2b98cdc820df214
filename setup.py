"""Package discovery that pyproject.toml cannot express on its own.

cmd/ must not become an importable package named ``cmd`` (it would shadow the standard library
module that pdb uses), so each program's folder is mapped to a package named after the program.
"""

from setuptools import find_packages, setup

PROGRAM_PACKAGES = {
    "tke_eni_agent": "cmd/agent",
    "tke_eni_ipamd": "cmd/ipamd",
    "tke_eni_ip_scheduler": "cmd/scheduler",
    "tke_eni_sim": "cmd/sim",
}

setup(
    packages=find_packages(include=["eni", "eni.*"]) + list(PROGRAM_PACKAGES),
    package_dir=PROGRAM_PACKAGES,
)
