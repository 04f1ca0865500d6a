import { isAuthenticated, isPublic, isStaff, ownerOrStaff } from '@storefront/platform/service';
import type { IRules } from 'graphql-shield';

/**
 * Who may read and do what in the orders service. Anything not listed is denied.
 *
 * An order is visible to its owner and staff, field by field, however it is
 * reached: `order(id)`, `orders`, `User.orders` or the gateway's `_entities`.
 * The mutations check ownership themselves (they must read the order first);
 * the rules here keep anonymous callers and customers out early.
 */
const orderOwnerOrStaff = ownerOrStaff<{ userId: string }>('orders:orderOwner', (order) => order.userId);
const userSelfOrStaff = ownerOrStaff<{ id: string }>('orders:userOrdersOwner', (user) => user.id);

export const permissions: IRules = {
  Query: {
    order: isAuthenticated,
    orders: isStaff,
    _service: isPublic,
    _entities: isPublic,
  },
  Mutation: {
    placeOrder: isAuthenticated,
    payOrder: isAuthenticated,
    shipOrder: isStaff,
    deliverOrder: isStaff,
    cancelOrder: isAuthenticated,
  },
  // Ownership of the order is checked when subscribing (like `order(id)`); every pushed field is guarded by Order's rule.
  Subscription: {
    orderStatusChanged: isAuthenticated,
    myOrderUpdates: isAuthenticated,
  },
  User: {
    id: isPublic,
    orders: userSelfOrStaff,
  },
  Product: { id: isPublic },
  Order: orderOwnerOrStaff,
  // Reachable only through an Order's fields, which are guarded above.
  OrderItem: isAuthenticated,
  OrderStatusChange: isAuthenticated,
  Money: isAuthenticated,
  Address: isAuthenticated,
  OrderConnection: isPublic,
  OrderEdge: isPublic,
  PageInfo: isPublic,
  _Service: isPublic,
};
