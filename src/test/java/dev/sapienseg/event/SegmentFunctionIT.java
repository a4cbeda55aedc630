package dev.sapienseg.event;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** The same tests against the packaged application (quarkus-run.jar). */
@QuarkusIntegrationTest
class SegmentFunctionIT extends SegmentFunctionTest {
}
