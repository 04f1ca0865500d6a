import { TOPICS } from '@storefront/platform/events';
import type { ServiceRuntime } from '@storefront/platform/service';
import type { ProductsDb, ProductsTx } from './data/client.ts';
import { productCreated } from './events/product-events.ts';

/** The demo catalog of `npm start`: enough to browse, search and order. Prices in cents. */
interface SeedProduct {
  sku: string;
  name: string;
  description: string;
  price: number;
  stock: number;
}

export const DEMO_CATALOG: Record<string, SeedProduct[]> = {
  Electronics: [
    {
      sku: 'EL-HEAD-001',
      name: 'Wireless Noise-Cancelling Headphones',
      description:
        'Over-ear Bluetooth headphones with active noise cancellation, 30-hour battery life and a foldable travel case.',
      price: 19999,
      stock: 25,
    },
    {
      sku: 'EL-KEYB-002',
      name: 'Mechanical Keyboard',
      description: 'Compact 75% keyboard with hot-swappable tactile switches, aluminium frame and white backlight.',
      price: 12900,
      stock: 40,
    },
    {
      sku: 'EL-CHRG-003',
      name: 'USB-C Charger 65W',
      description:
        'Gallium-nitride wall charger with two USB-C ports and one USB-A port; charges a laptop and a phone at once.',
      price: 4599,
      stock: 120,
    },
  ],
  'Home & Kitchen': [
    {
      sku: 'HK-KETL-001',
      name: 'Gooseneck Electric Kettle',
      description:
        'Pour-over kettle with precise temperature control, a one-hour keep-warm mode and a stainless steel body.',
      price: 8900,
      stock: 30,
    },
    {
      sku: 'HK-PAN-002',
      name: 'Cast Iron Skillet 10"',
      description:
        'Pre-seasoned cast iron pan for searing, baking and campfire cooking. Oven safe, lasts for generations.',
      price: 3495,
      stock: 60,
    },
    {
      sku: 'HK-KNIF-003',
      name: 'Chef\'s Knife 8"',
      description: 'Forged high-carbon stainless steel blade with a full tang and an ergonomic walnut handle.',
      price: 7900,
      stock: 15,
    },
  ],
  Books: [
    {
      sku: 'BK-DDIA-001',
      name: 'Designing Data-Intensive Applications',
      description:
        'The big ideas behind reliable, scalable and maintainable systems: replication, partitioning, transactions and streams.',
      price: 4999,
      stock: 20,
    },
    {
      sku: 'BK-PRAG-002',
      name: 'The Pragmatic Programmer',
      description:
        'Twentieth anniversary edition of the classic guide to software craftsmanship, from journeyman to master.',
      price: 4299,
      stock: 18,
    },
    {
      sku: 'BK-COOK-003',
      name: 'Salt, Fat, Acid, Heat',
      description:
        'An illustrated cookbook that teaches the four elements of good cooking, with recipes to practise them.',
      price: 3500,
      stock: 0,
    },
  ],
  Outdoors: [
    {
      sku: 'OD-TENT-001',
      name: 'Two-Person Backpacking Tent',
      description:
        'Freestanding ultralight tent, 1.6 kg packed, with two doors, two vestibules and a waterproof rainfly.',
      price: 27900,
      stock: 8,
    },
    {
      sku: 'OD-BOTL-002',
      name: 'Insulated Water Bottle 1L',
      description:
        'Double-wall vacuum insulated stainless steel bottle that keeps drinks cold for 24 hours or hot for 12.',
      price: 3200,
      stock: 75,
    },
    {
      sku: 'OD-LAMP-003',
      name: 'Rechargeable Headlamp',
      description:
        'A 400-lumen LED headlamp with red night-vision mode, USB-C charging and an IPX4 weatherproof rating.',
      price: 3999,
      stock: 3,
    },
  ],
};

/** Creates the demo categories and products that are missing; existing ones (matched by name and SKU) are left alone. */
export async function seedCatalog(runtime: ServiceRuntime<ProductsDb, ProductsTx>): Promise<{ created: number }> {
  const created = await runtime.transact(async (tx, emit) => {
    let count = 0;
    for (const [categoryName, products] of Object.entries(DEMO_CATALOG)) {
      const category =
        (await tx.category.findUnique({ where: { name: categoryName } })) ??
        (await tx.category.create({ data: { name: categoryName } }));
      const existing = new Set(
        (await tx.product.findMany({ where: { sku: { in: products.map((p) => p.sku) } }, select: { sku: true } })).map(
          (p) => p.sku,
        ),
      );
      for (const item of products.filter((p) => !existing.has(p.sku))) {
        const product = await tx.product.create({
          data: {
            sku: item.sku,
            name: item.name,
            description: item.description,
            priceAmount: item.price,
            currency: 'USD',
            stockLevel: item.stock,
            categoryId: category.id,
          },
        });
        await emit(TOPICS.inventoryEvents, productCreated(product));
        count++;
      }
    }
    return count;
  });
  if (created) runtime.logger.info({ created }, 'seeded demo catalog');
  return { created };
}
