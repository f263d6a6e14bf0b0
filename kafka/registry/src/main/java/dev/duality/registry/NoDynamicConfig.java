package dev.duality.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;
import java.util.List;

/**
 * Apicurio's config-index extension, excluded in pom.xml because its build-time half is not on
 * Maven Central, lists the properties an admin may change at run time. The test registry offers
 * none: it is configured once, at start.
 */
public class NoDynamicConfig {
    @Produces
    @ApplicationScoped
    DynamicConfigPropertyList dynamicConfigProperties() {
        return new DynamicConfigPropertyList(List.of());
    }
}
