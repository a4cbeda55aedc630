package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The READMEs as a newcomer reads them: every environment variable they name is a real setting (a misspelt one is
 * silently ignored by the application), and every link stays inside the repository and points at a file that exists.
 */
class ReadmeTest {

    static final Path ROOT = Path.of("").toAbsolutePath();
    /** A variable, not an identifier's tail (OutputLayout.SAPIENS_FOLDER) nor a family written as SAPIENS_*. */
    private static final Pattern VARIABLE = Pattern.compile("(?<![\\w.])((?:SAPIENS|QUARKUS)_[A-Z0-9_]*[A-Z0-9])(?![\\w*])");
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    static List<Path> readmes() throws IOException {
        try (Stream<Path> files = Files.walk(ROOT)) {
            return files.filter(p -> p.getFileName().toString().equals("README.md"))
                    .filter(p -> !ROOT.relativize(p).startsWith("target") && !ROOT.relativize(p).startsWith(".git"))
                    .sorted().toList();
        }
    }

    static List<String> unknownVariables(String text, AppConfig app) {
        List<String> problems = new ArrayList<>();
        Matcher m = VARIABLE.matcher(text);
        while (m.find()) {
            app.unknownVariable(m.group(1)).ifPresent(problems::add);
        }
        return problems;
    }

    static List<String> badLinks(Path file, String text) {
        List<String> problems = new ArrayList<>();
        Matcher m = LINK.matcher(text);
        while (m.find()) {
            String target = m.group(1);
            if (target.startsWith("http://") || target.startsWith("https://") || target.startsWith("#")
                    || target.startsWith("mailto:")) {
                continue;
            }
            Path resolved = file.getParent().resolve(target.replaceAll("#.*$", "")).normalize();
            if (!resolved.startsWith(ROOT)) {
                problems.add(file + ": link " + target + " leaves the repository");
            } else if (!Files.exists(resolved)) {
                problems.add(file + ": link " + target + " points at nothing");
            }
        }
        if (text.contains("../shared/")) {
            problems.add(file + ": names ../shared/, which is not part of the repository");
        }
        return problems;
    }

    @Test
    void everyVariableTheReadmesNameIsARealSetting() throws IOException {
        AppConfig app = AppConfig.load(KnativeManifests.APPLICATION_PROPERTIES);
        List<String> problems = new ArrayList<>();
        for (Path readme : readmes()) {
            unknownVariables(Files.readString(readme), app).forEach(p -> problems.add(ROOT.relativize(readme) + ": " + p));
        }
        assertEquals(List.of(), problems);
        // The check catches what it is for: the device key is device-ids, so this variable would be ignored.
        List<String> caught = unknownVariables("SAPIENS_EXECUTION_PROVIDER=cuda SAPIENS_EXECUTION_DEVICE_ID=0 java", app);
        assertEquals(1, caught.size(), caught.toString());
        assertTrue(caught.get(0).startsWith("SAPIENS_EXECUTION_DEVICE_ID "), caught.get(0));
        assertEquals(List.of(), unknownVariables("OutputLayout.SAPIENS_FOLDER, SAPIENS_* variables", app));
    }

    @Test
    void theReadmesStandAlone() throws IOException {
        assertTrue(readmes().size() >= 3, "README.md, knative/README.md, deploy/export/README.md: " + readmes());
        List<String> problems = new ArrayList<>();
        for (Path readme : readmes()) {
            problems.addAll(badLinks(readme, Files.readString(readme)));
        }
        assertEquals(List.of(), problems);
        Path readme = ROOT.resolve("README.md");
        List<String> caught = badLinks(readme, "see [the spec](../../spec.md) and [x](docs/missing.md), ../shared/x");
        assertEquals(3, caught.size(), "a link out of the repository, a link to nothing, the steering folder: " + caught);
    }
}
