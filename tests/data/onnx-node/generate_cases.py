#!/usr/bin/env python3
"""Writes the ONNX project's conformance cases of LSTM, GRU, RNN and Col2Im into this folder.

The vendored subset (README.md) was copied from onnx/onnx at a commit that has none of these
cases in it. These are made by the ONNX project's own case generators,
onnx/backend/test/case/node/{lstm,gru,rnn,col2im}.py (each builds the node and computes the expected
outputs with its own numpy implementation), through onnx.backend.test.case.node.collect_testcases,
the function ONNX's `backend-test-tools generate-data` uses for its node data. Made with onnx
1.23.2 from PyPI (Apache License 2.0, (c) ONNX Project Contributors):

    python3 -m venv /tmp/onnx-venv && /tmp/onnx-venv/bin/pip install onnx==1.23.2
    /tmp/onnx-venv/bin/python3 tests/data/onnx-node/generate_cases.py

It writes each case's model.onnx and test_data_set_0/{input,output}_N.pb as ONNX does, and adds
(or replaces) the cases' rows in INDEX.tsv. The test suite reads the files; it never runs this.
"""
import os
import sys

import onnx
from onnx import numpy_helper
import onnx.backend.test.case.node as node_cases

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = ("LSTM", "GRU", "RNN", "Col2Im")


def main():
    cases = [c for c in node_cases.collect_testcases(None)
             if c.model.graph.node and c.model.graph.node[0].op_type in OPS]
    rows = {}
    for case in cases:
        folder = os.path.join(HERE, case.name)
        data = os.path.join(folder, "test_data_set_0")
        os.makedirs(data, exist_ok=True)
        total = 0
        model_bytes = case.model.SerializeToString()
        with open(os.path.join(folder, "model.onnx"), "wb") as f:
            f.write(model_bytes)
        total += len(model_bytes)
        inputs, outputs = case.data_sets[0]
        for kind, values in (("input", inputs), ("output", outputs)):
            graph_values = case.model.graph.input if kind == "input" else case.model.graph.output
            for j, value in enumerate(values):
                tensor = numpy_helper.from_array(value, graph_values[j].name).SerializeToString()
                with open(os.path.join(data, f"{kind}_{j}.pb"), "wb") as f:
                    f.write(tensor)
                total += len(tensor)
        opset = next(o.version for o in case.model.opset_import if o.domain in ("", "ai.onnx"))
        rows[case.name] = "\t".join(str(v) for v in (
            case.name, case.model.graph.node[0].op_type, opset, len(case.model.graph.input),
            len(case.model.graph.output), total))
    index = os.path.join(HERE, "INDEX.tsv")
    with open(index) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    header, body = lines[0], [line for line in lines[1:] if line.split("\t")[0] not in rows]
    body += rows.values()
    with open(index, "w") as f:
        for line in [header] + sorted(body, key=lambda line: line.split("\t")[0]):
            f.write(line + "\n")
    print(f"{len(rows)} cases written (onnx {onnx.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
