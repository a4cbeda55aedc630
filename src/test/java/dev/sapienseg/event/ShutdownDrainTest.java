package dev.sapienseg.event;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which clients are not sent GOAWAY during shutdown: the JDK's HttpClient releases without the JDK-8335181 fix. */
class ShutdownDrainTest {

    @ParameterizedTest
    @CsvSource({ "Java-http-client/17.0.15, true", "Java-http-client/17.0.17, false", "Java-http-client/17.0.21, false",
            "Java-http-client/21.0.7, true", "Java-http-client/21.0.8, false", "Java-http-client/11.0.25, true",
            "Java-http-client/24, true", "Java-http-client/25, false", "Java-http-client/25.0.1, false",
            "Java-http-client/not-a-version, true", "curl/8.5.0, false", "Vert.x-WebClient/4.5.25, false" })
    void theJdkClientsThatFailEveryStreamOnGoAwayAreNotSentOne(String userAgent, boolean spared) {
        assertEquals(spared, ShutdownDrain.mishandlesGoAway(userAgent));
    }
}
