"""The local cluster: a simulated VPC in network namespaces, nodes, kubelets and a scheduler.

Modules: ``names`` (every kernel name derives from one recorded prefix), ``iproute`` (``ip`` in a named
namespace only), ``dataplane`` (router + node namespaces, the emulator's hooks), ``probe`` (ICMP from a
namespace), ``kube`` (the stand-ins' API calls), ``kubelet/`` (device manager, CNI exec, sandboxes, the
kubelet loop), ``scheduler`` (binding with the HTTP extender), ``statedir``/``procs`` (records and processes),
``cluster`` (``up``), ``teardown`` (``down``), ``ledgercheck`` (``check``), ``podops``/``demo``/``ui``.

It is the top layer (it may import anything in ``eni``) and must never create anything in the host's own
network namespace nor listen anywhere but 127.0.0.1.
"""
