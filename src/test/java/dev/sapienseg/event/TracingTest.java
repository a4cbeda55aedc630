package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.Readiness;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.quarkus.arc.profile.IfBuildProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/** The event's trace is continued (CloudEvents extension or W3C header) and handed on in the reply. */
@QuarkusTest
@TestProfile(TracingTest.Profile.class)
class TracingTest {

    /** Its own build profile, so that the in-memory exporter below exists only for this test's application. */
    public static class Profile implements QuarkusTestProfile {
        @Override
        public String getConfigProfile() {
            return "tracing-test";
        }
    }

    static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();

    /** Test sources are part of the application in @QuarkusTest: this exporter makes EventTracing record spans. */
    @Singleton
    @IfBuildProfile("tracing-test")
    static class Exporter {
        @Produces
        @Singleton
        SpanExporter exporter() {
            return SPANS;
        }
    }

    static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String PARENT = "00f067aa0ba902b7";

    @BeforeEach
    void ready() {
        Readiness.awaitReady();
        SPANS.reset();
    }

    private static Response post(String header, String traceparent) throws Exception {
        return CloudEvents.binary(CloudEvents.IMAGE, "traced", CloudEvents.SOURCE).header("ce-sapiensoutputs", "none").header(header, traceparent)
                .contentType("image/jpeg").body(java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG)).post("/");
    }

    private static void assertContinued(Response response) {
        response.then().statusCode(200);
        String reply = response.header("ce-traceparent");
        assertTrue(reply != null && reply.startsWith("00-" + TRACE + "-"), "reply traceparent " + reply);
        List<SpanData> spans = SPANS.getFinishedSpanItems();
        assertEquals(1, spans.size());
        SpanData span = spans.get(0);
        assertEquals(TRACE, span.getTraceId());
        assertEquals(PARENT, span.getParentSpanId());
        assertEquals("sapiens.segment sapiens.segment", span.getName());
        assertEquals("traced", span.getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey("cloudevents.event_id")));
        assertEquals(span.getSpanId(), reply.split("-")[2], "the reply continues from our span");
        assertNotEquals(PARENT, span.getSpanId());
    }

    @Test
    void cloudEventsTracingExtension() throws Exception {
        assertContinued(post("ce-traceparent", "00-" + TRACE + "-" + PARENT + "-01"));
    }

    @Test
    void w3cHeader() throws Exception {
        assertContinued(post("traceparent", "00-" + TRACE + "-" + PARENT + "-01"));
    }
}
