"""The preprocessing step of generate.py: protos/ without the google.api.http rules."""

import pathlib
import unittest

import generate


class StripHttpRulesTests(unittest.TestCase):
    def test_strip_rule_with_route_braces_removes_block_and_keeps_rpc(self):
        source = (
            'syntax = "proto3";\n'
            'import "google/api/annotations.proto";\n'
            'import "hashhub/v1/signals.proto";\n'
            "service S {\n"
            "  rpc Get(A) returns (B) {\n"
            "    option (google.api.http) = {\n"
            '      get: "/v1/signals/{signal_id}"\n'
            '      additional_bindings { get: "/v1/signals:lookup" }\n'
            "    };\n"
            "  }\n"
            "}\n"
        )
        self.assertEqual(
            generate.strip_http_rules(source),
            'syntax = "proto3";\n'
            'import "hashhub/v1/signals.proto";\n'
            "service S {\n"
            "  rpc Get(A) returns (B) {\n"
            "  }\n"
            "}\n",
        )

    def test_strip_rule_on_one_line_keeps_the_rest_of_the_line(self):
        source = 'rpc A(X) returns (Y) { option (google.api.http) = { post: "/v1/a" body: "*" }; }\n'
        self.assertEqual(generate.strip_http_rules(source), "rpc A(X) returns (Y) {  }\n")

    def test_strip_comments_and_other_options_untouched(self):
        source = (
            "// option (google.api.http) = { get: \"/x\" }; is how a rule reads\n"
            "/* a { brace */\n"
            'option csharp_namespace = "HashHub.Protos.V1";\n'
            "rpc A(X) returns (Y) { option deprecated = true; }\n"
        )
        self.assertEqual(generate.strip_http_rules(source), source)

    def test_strip_unterminated_block_raises(self):
        with self.assertRaises(ValueError):
            generate.strip_http_rules('rpc A(X) returns (Y) { option (google.api.http) = { get: "/v1/{a}" ')

    def test_strip_every_contract_file_leaves_no_google_api(self):
        for proto in sorted(generate.PROTOS.rglob("*.proto")):
            with self.subTest(proto=proto.name):
                stripped = generate.strip_http_rules(proto.read_text(encoding="utf-8"))
                self.assertNotIn("google/api", stripped)
                self.assertNotIn("google.api.http", stripped)
                self.assertEqual(stripped.count("{"), stripped.count("}"))

    def test_generated_modules_load_with_installed_runtime(self):
        # generate.py ran before the tests (sdk-tests.sh); the generated code must load with this runtime.
        from hashhub.v1 import matching_pb2, signals_pb2, sync_pb2_grpc

        signal = signals_pb2.Signal(type=signals_pb2.SIGNAL_TYPE_PDQ, value="00" * 32, quality=90)
        request = matching_pb2.MatchRequest(signals=[signal], max_distance=8)
        parsed = matching_pb2.MatchRequest.FromString(request.SerializeToString())
        self.assertTrue(parsed.HasField("max_distance"))
        self.assertTrue(parsed.signals[0].HasField("quality"))
        self.assertTrue(hasattr(sync_pb2_grpc, "SyncStub"))
        self.assertTrue(pathlib.Path(generate.OUT, "hashhub", "v1", "__init__.py").exists())


if __name__ == "__main__":
    unittest.main()
