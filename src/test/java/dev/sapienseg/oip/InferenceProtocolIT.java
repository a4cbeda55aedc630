package dev.sapienseg.oip;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** The same protocol tests against the packaged application (quarkus-run.jar). */
@QuarkusIntegrationTest
class InferenceProtocolIT extends InferenceProtocolTest {
}
