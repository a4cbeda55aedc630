package dev.sapienseg.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.sapienseg.deploy.AppConfig;

/**
 * Every Markdown page as a newcomer reads it: each environment variable and configuration key it names is a real setting
 * (a misspelt one is silently ignored by the application), each relative link and anchor resolves, and the front door
 * stays small and gives the test command CI runs.
 */
class DocsTest {

    /** A variable, not an identifier's tail (OutputLayout.SAPIENS_FOLDER) nor a family written as SAPIENS_*. */
    private static final Pattern VARIABLE = Pattern.compile("(?<![\\w.])((?:SAPIENS|QUARKUS)_[A-Z0-9_]*[A-Z0-9])(?![\\w*<])");
    /** A key of ours: the configuration's groups (event types such as sapiens.segment.result are values, not keys). */
    private static final Pattern KEY = Pattern.compile(
            "(?<![\\w./-])(sapiens\\.(?:model|execution|batching|limits|events|storage|selection)(?:\\.[a-z0-9_-]*[a-z0-9_])*)");
    static final long README_MAX_BYTES = 12 * 1024;

    static List<String> unknownVariables(String text, AppConfig app) {
        List<String> problems = new ArrayList<>();
        Matcher m = VARIABLE.matcher(text);
        while (m.find()) {
            app.unknownVariable(m.group(1)).ifPresent(problems::add);
        }
        return problems;
    }

    static List<String> unknownKeys(String text, AppConfig app) {
        List<String> problems = new ArrayList<>();
        Matcher m = KEY.matcher(text);
        while (m.find()) {
            if (!app.isKey(m.group(1))) {
                problems.add(m.group(1) + " is no configuration key (SapiensConfig, application.properties)");
            }
        }
        return problems;
    }

    @Test
    void everyVariableAndKeyAPageNamesIsARealSetting() {
        AppConfig app = AppConfig.load();
        List<String> problems = new ArrayList<>();
        for (Path page : Markdown.files()) {
            String text = Markdown.read(page);
            String where = Markdown.ROOT.relativize(page) + ": ";
            unknownVariables(text, app).forEach(p -> problems.add(where + p));
            unknownKeys(text, app).forEach(p -> problems.add(where + p));
        }
        assertEquals(List.of(), problems);
        // The checks catch what they are for: the device key is device-ids, the budget is limits.memory-budget.
        List<String> caught = unknownVariables("SAPIENS_EXECUTION_PROVIDER=cuda SAPIENS_EXECUTION_DEVICE_ID=0 java", app);
        assertEquals(1, caught.size(), caught.toString());
        assertTrue(caught.get(0).startsWith("SAPIENS_EXECUTION_DEVICE_ID "), caught.get(0));
        assertEquals(List.of(), unknownVariables("OutputLayout.SAPIENS_FOLDER, SAPIENS_* variables", app));
        assertEquals(List.of("sapiens.limits.memory-budgets is no configuration key (SapiensConfig, application.properties)"),
                unknownKeys("`sapiens.limits.memory-budget`, `sapiens.limits.*`, `sapiens.execution.cuda-options"
                        + ".gpu_mem_limit`, type sapiens.segment.result; `sapiens.limits.memory-budgets`", app));
    }

    @Test
    void everyRelativeLinkAndAnchorResolves() {
        List<Path> pages = Markdown.files();
        assertTrue(pages.size() >= 10, "README.md, docs/, knative/README.md, deploy/export/README.md: " + pages);
        List<String> problems = new ArrayList<>();
        for (Path page : pages) {
            problems.addAll(Markdown.badLinks(page, Markdown.read(page)));
        }
        assertEquals(List.of(), problems);
        Path readme = Markdown.ROOT.resolve("README.md");
        List<String> caught = Markdown.badLinks(readme, "see [the spec](../../spec.md), [x](docs/missing.md), "
                + "[y](docs/errors.md#no-such-heading), [z](#nor-here), ../shared/x");
        assertEquals(5, caught.size(), "out of the repository, to nothing, two missing anchors, the steering folder: "
                + caught);
        assertEquals("selections-just-the-hair-the-face-the-person",
                Markdown.slug("Selections: just the hair, the face, the person"));
        assertEquals("open-inference-protocol-kserve-v2--triton", Markdown.slug("Open Inference Protocol (KServe v2 / Triton)"));
    }

    @Test
    void theFrontDoorIsSmallAndGivesTheTestCommandCiRuns() throws Exception {
        Path readme = Markdown.ROOT.resolve("README.md");
        long size = Files.size(readme);
        assertTrue(size <= README_MAX_BYTES, "README.md is " + size + " bytes; its topics belong under docs/");
        String text = Markdown.read(readme);
        assertTrue(text.contains("```bash\nscripts/test\n```"), "README's test command is scripts/test, as it stands");
        List<String> ci = Files.readAllLines(Markdown.ROOT.resolve(".ci/run"));
        assertTrue(ci.contains("scripts/test"), ".ci/run runs README's test command as written");
        assertTrue(Files.isExecutable(Markdown.ROOT.resolve("scripts/test")), "scripts/test is executable");
    }
}
